import { z } from "zod";
import { defineSlice, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";

/** The conversations context's configuration. */
export const conversationsConfig = defineSlice({
  name: "conversations",
  variables: {
    HISTORY_STORE: z.enum(["mysql", "mongo"]).default("mysql"),
    RATE_LIMIT_MESSAGES_PER_MIN: positiveInt.default(120),
  },
  settings: (env) => ({
    /** Where message history is kept: MySQL/MariaDB or MongoDB. */
    historyStore: env.HISTORY_STORE,
    /** `message:send` and `new_message` per user and minute, each. */
    messagesPerMinute: env.RATE_LIMIT_MESSAGES_PER_MIN,
  }),
});

export type ConversationsSettings = SettingsOf<typeof conversationsConfig>;
export type HistoryStoreKind = ConversationsSettings["historyStore"];
