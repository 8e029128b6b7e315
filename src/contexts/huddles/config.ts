import { z } from "zod";
import { defineSlice, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";

/** The huddles context's configuration: the huddle rules' limits. */
export const huddlesConfig = defineSlice({
  name: "huddles",
  variables: {
    HUDDLE_MAX_PARTICIPANTS: positiveInt.default(16),
    HUDDLE_EMPTY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(0),
  },
  settings: (env) => ({
    /** At most this many participants at once; one more is refused `huddle_full` (a mesh of peer connections goes no further). */
    maxParticipants: env.HUDDLE_MAX_PARTICIPANTS,
    /** An empty huddle ends this long after its last participant left; 0: at once. */
    emptyTimeoutMs: env.HUDDLE_EMPTY_TIMEOUT_MS,
  }),
});

export type HuddlesSettings = SettingsOf<typeof huddlesConfig>;
