import { z } from "zod";
import { defineSlice, type SettingsOf } from "../platform/config/config-slice.js";
import { nodeEnv } from "../platform/config/core-config.js";

/**
 * The operators' web console (`/console` on gateways). On by default outside production; in
 * production off until configured: `CONSOLE_ENABLED=true`, or a `CONSOLE_KEY` set.
 */
export const consoleConfig = defineSlice({
  name: "console",
  variables: {
    NODE_ENV: nodeEnv,
    CONSOLE_ENABLED: z.enum(["true", "false"]).optional(),
    CONSOLE_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  },
  problems: (env) => (env.CONSOLE_ENABLED === "false" && env.CONSOLE_KEY !== undefined ? ["CONSOLE_KEY: set while CONSOLE_ENABLED=false; unset one"] : []),
  settings: (env) => ({
    enabled: env.CONSOLE_ENABLED === undefined ? env.NODE_ENV !== "production" || env.CONSOLE_KEY !== undefined : env.CONSOLE_ENABLED === "true",
    /** A shared key that signs an operator in, besides a JWT carrying the operator role. */
    ...(env.CONSOLE_KEY === undefined ? {} : { key: env.CONSOLE_KEY }),
  }),
});

export type ConsoleSettings = SettingsOf<typeof consoleConfig>;
