import { positiveInt } from "../../../platform/config/config-slice.js";

/** The variables of the notification policy, part of the notifications context's configuration slice. */
export const POLICY_VARIABLES = {
  NOTIFY_BATCH_WINDOW_MS: positiveInt.default(2_000),
  NOTIFY_MAX_AGE_MS: positiveInt.default(3_600_000),
};

/** The policy's timing, from its validated variables. */
export function policySettings(env: { readonly NOTIFY_BATCH_WINDOW_MS: number; readonly NOTIFY_MAX_AGE_MS: number }) {
  return {
    /** How long a conversation's burst gathers new messages, from the first one, before its notifications are requested. */
    batchWindowMs: env.NOTIFY_BATCH_WINDOW_MS,
    /** Messages older than this when the policy reads them (a rebuild, a long outage) notify nobody. */
    maxAgeMs: env.NOTIFY_MAX_AGE_MS,
  };
}

export type PolicySettings = ReturnType<typeof policySettings>;
