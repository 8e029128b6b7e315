import { defineSlice, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";

/** The notifications context's configuration: the notification policy's timing. */
export const notificationsConfig = defineSlice({
  name: "notifications",
  variables: {
    NOTIFY_BATCH_WINDOW_MS: positiveInt.default(2_000),
    NOTIFY_MAX_AGE_MS: positiveInt.default(3_600_000),
  },
  settings: (env) => ({
    /** How long a conversation's burst gathers new messages, from the first one, before its notifications are requested. */
    batchWindowMs: env.NOTIFY_BATCH_WINDOW_MS,
    /** Messages older than this when the policy reads them (a rebuild, a long outage) notify nobody. */
    maxAgeMs: env.NOTIFY_MAX_AGE_MS,
  }),
});

export type NotificationsSettings = SettingsOf<typeof notificationsConfig>;
