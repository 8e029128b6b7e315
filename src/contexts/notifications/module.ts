import { defineContext } from "../../platform/context-module.js";
import { DEVICES } from "../devices/ports.js";
import { notificationsConfig } from "./config.js";
import { startNotifier } from "./notifier/notifier-role.js";
import { notificationsProcessor } from "./processor.js";

/**
 * Notifications: one aggregate per recipient (`quikapp.notifications.*`) recording each
 * notification requested and what became of it on each device, on the processor role; the
 * notifier role, which sends each requested notification through APNs and FCM exactly once per
 * device, to the devices the devices read model ({@link DEVICES}) lists, and records the outcome.
 * Not built yet: email digests, the `notification:ack` delivery report from clients.
 */
export const notifications = defineContext({
  name: "notifications",
  config: notificationsConfig,
  processors: () => [notificationsProcessor],
  notifier: (kit, settings) => startNotifier(kit, settings, kit.ports.require(DEVICES)),
});
