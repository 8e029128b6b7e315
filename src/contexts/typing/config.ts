import { defineSlice, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";

/** The typing context's configuration. */
export const typingConfig = defineSlice({
  name: "typing",
  variables: {
    TYPING_TIMEOUT_MS: positiveInt.default(5_000),
    TYPING_COALESCE_MS: positiveInt.default(2_000),
    RATE_LIMIT_TYPING_PER_MIN: positiveInt.default(60),
  },
  problems: (env) =>
    env.TYPING_COALESCE_MS >= env.TYPING_TIMEOUT_MS ? ["TYPING_COALESCE_MS: must be below TYPING_TIMEOUT_MS, or indicators expire while users type"] : [],
  settings: (env) => ({
    /** A typing indicator disappears this long after its last renewal. */
    timeoutMs: env.TYPING_TIMEOUT_MS,
    /** A gateway forwards at most one renewal per user and conversation within this window. */
    coalesceMs: env.TYPING_COALESCE_MS,
    /** `typing`, `typing:start`, `typing:stop` (and the snake_case names) per user and minute, each. */
    perMinute: env.RATE_LIMIT_TYPING_PER_MIN,
  }),
});

export type TypingSettings = SettingsOf<typeof typingConfig>;
