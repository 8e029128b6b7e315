import { defineSlice, type SettingsOf } from "../../platform/config/config-slice.js";
import { POLICY_VARIABLES, policySettings } from "./policy/policy-config.js";

/** The notifications context's configuration: the notification policy's timing. */
export const notificationsConfig = defineSlice({
  name: "notifications",
  variables: { ...POLICY_VARIABLES },
  settings: (env) => ({ policy: policySettings(env) }),
});

export type NotificationsSettings = SettingsOf<typeof notificationsConfig>;
