import { defineContext } from "../../platform/context-module.js";
import { Port } from "../../platform/ports.js";
import { notificationsConfig } from "./config.js";
import type { PushTargets } from "./notifier/push-targets.js";
import { notificationsProcessor } from "./processor.js";

/** Each user's push targets, as the notifier reads them: provided by the devices context in a notifier process. */
export const PUSH_TARGETS = new Port<PushTargets>("the users' push targets (devices read model)");

/**
 * Notifications: one aggregate per recipient (`quikapp.notifications.*`) recording each
 * notification requested and what became of it on each device, on the processor role. The notifier (`notifier/`) that sends each requested notification
 * through APNs and FCM joins the notifier role once the devices read model provides the push
 * targets. Not built yet: email digests, the `notification:ack` delivery report from clients.
 */
export const notifications = defineContext({
  name: "notifications",
  config: notificationsConfig,
  processors: () => [notificationsProcessor],
});
