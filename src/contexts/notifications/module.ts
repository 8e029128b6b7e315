import { defineContext } from "../../platform/context-module.js";
import { notificationsGateway } from "./channels/notifications-gateway.js";
import { notificationsConfig } from "./config.js";
import { policyProjections } from "./policy/policy-part.js";

/**
 * Notifications: the policy that decides who is notified of what (`notify-messages`: a burst of
 * new messages per conversation, for each member who is not the sender, not viewing it, has not
 * muted it and has not read it; `notify-calls`: incoming and missed calls), which asks for them
 * with `RequestNotification` on `quikapp.notifications.commands`; and the notifications' part of
 * `user:{userId}` (`message`, `notification`, `notification:ack`) with its REST acknowledgement.
 */
export const notifications = defineContext({
  name: "notifications",
  config: notificationsConfig,
  // The policy reads the conversations' membership and read positions (MySQL).
  dependencies: () => ["mysql"],
  projections: (kit, settings) => policyProjections(kit, settings.policy),
  gateway: (kit) => Promise.resolve(notificationsGateway(kit)),
});
