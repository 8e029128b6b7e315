import type { ProcessorDefinition } from "../../platform/processor/processor-definition.js";
import { notificationsDecider } from "./domain/decide.js";
import type { NotificationsState } from "./domain/state.js";

/**
 * The notifications processor: one aggregate per recipient over `quikapp.notifications.commands`
 * (key: userId), its changelog `quikapp.notifications.state`, its events on
 * `quikapp.notifications.events`. Accepted commands answer `{notificationId}`.
 */
export const notificationsProcessor: ProcessorDefinition<"notifications", NotificationsState> = {
  contexts: ["notifications"],
  decider: notificationsDecider,
  result: (_events, _state, command) => ({ notificationId: command.data.notificationId }),
  // A request and its reports (one per device) come within minutes; a burst of a busy user's fits.
  dedupe: { maxEntries: 256, maxAgeMs: 60 * 60_000 },
};
