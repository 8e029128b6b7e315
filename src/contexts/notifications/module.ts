import { defineContext } from "../../platform/context-module.js";
import { DEVICES } from "../devices/ports.js";
import { notificationsGateway } from "./channels/notifications-gateway.js";
import { notificationsConfig } from "./config.js";
import { startNotifier } from "./notifier/notifier-role.js";
import { policyProjections } from "./policy/policy-part.js";
import { notificationsProcessor } from "./processor.js";

/**
 * Notifications: the policy that decides who is notified of what (`notify-messages`: a burst of
 * new messages per conversation, for each member who is not the sender, not viewing it, has not
 * muted it and has not read it; `notify-calls`: incoming and missed calls; `notify-huddles`:
 * invitations to huddles, for invitees without a live socket), which asks for them
 * with `RequestNotification` on `quikapp.notifications.commands`; one aggregate per recipient
 * (`quikapp.notifications.*`) recording each notification requested and what became of it on
 * each device, on the processor role; the notifier role, which sends each requested notification
 * through APNs and FCM exactly once per device, to the devices the devices read model
 * ({@link DEVICES}) lists, and records the outcome; and the notifications' part of `user:{userId}`
 * (`message`, `notification`, `notification:ack`) with its REST acknowledgement. A user without a
 * push-capable device is mailed one digest of what they have not read after `EMAIL_DELAY_MS`.
 */
export const notifications = defineContext({
  name: "notifications",
  config: notificationsConfig,
  processors: () => [notificationsProcessor],
  notifier: (kit, settings) => startNotifier(kit, settings, kit.ports.require(DEVICES)),
  // The policy reads the conversations' membership and read positions (MySQL).
  dependencies: () => ["mysql"],
  projections: (kit, settings) => policyProjections(kit, settings.policy),
  gateway: (kit) => Promise.resolve(notificationsGateway(kit)),
});
