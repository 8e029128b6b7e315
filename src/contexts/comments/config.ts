import { defineSlice, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";

/** The comments context's configuration. */
export const commentsConfig = defineSlice({
  name: "comments",
  variables: { RATE_LIMIT_COMMENTS_PER_MIN: positiveInt.default(30) },
  settings: (env) => ({
    /** Per user, `new_comment` pushes, counted in Redis across gateways. */
    perMinute: env.RATE_LIMIT_COMMENTS_PER_MIN,
  }),
});

export type CommentsSettings = SettingsOf<typeof commentsConfig>;
