import type { PushResult } from "../../../platform/notifications/push-sender.js";

/**
 * Why a push was recorded failed, as `notifications_failed_total`'s `reason` label counts it (a
 * short, fixed list; the provider's own words go in the event's `reason`).
 */
export type FailureKind = "token_dead" | "auth_failed" | "refused" | "retries_exhausted" | "provider_not_configured";

/** What became of one notification on one device, final: recorded, then never sent again. */
export type SendOutcome =
  | { readonly kind: "sent"; readonly provider: string; readonly providerMessageId: string | null; readonly pushKind: string }
  | {
      readonly kind: "failed";
      readonly provider: string;
      readonly failure: FailureKind;
      /** The provider's reason (`BadDeviceToken`, `UNREGISTERED`, `HTTP 503`), or the notifier's (`provider_not_configured`). */
      readonly reason: string;
      /** A retry cannot succeed (the token is dead, the push refused as it is). */
      readonly permanent: boolean;
      /** The dead token, when the provider said the device's token will never work again. */
      readonly deadToken?: string;
    };

/** The settings of the notifier's retries of one push. */
export interface RetryBudget {
  /** Sends of one push, the first included. */
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/**
 * How long to wait before attempt `attempt + 1` after attempt `attempt` (1-based) was answered
 * `retry_later`: the base doubled at each attempt up to the maximum, or the provider's
 * `Retry-After` when it asks for longer (it is honoured even beyond the maximum: sending sooner
 * would only be refused again). Undefined when the budget is spent.
 */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, budget: RetryBudget): number | undefined {
  if (attempt >= budget.maxAttempts) return undefined;
  const backoff = Math.min(budget.retryMaxMs, budget.retryBaseMs * 2 ** (attempt - 1));
  return Math.max(backoff, retryAfterMs ?? 0);
}

/**
 * The final outcome of a push from the provider's last answer: `retry_later` is final only once the
 * budget is spent (`retries_exhausted`, not permanent: the provider may come back). A dead token is
 * to be removed unless APNs dates its death (`since`) no later than `tokenAt`, the token's
 * registration: the app registered it again since, and it is live.
 */
export function outcomeOf(result: PushResult, provider: string, pushKind: string, token: string, tokenAt: number | null = null): SendOutcome {
  switch (result.outcome) {
    case "delivered":
      return { kind: "sent", provider, providerMessageId: result.id === "" ? null : result.id, pushKind };
    case "token_dead": {
      const reRegistered = result.since !== undefined && tokenAt !== null && result.since.getTime() <= tokenAt;
      return { kind: "failed", provider, failure: "token_dead", reason: result.reason, permanent: true, ...(reRegistered ? {} : { deadToken: token }) };
    }
    case "auth_failed":
      return { kind: "failed", provider, failure: "auth_failed", reason: result.reason, permanent: false };
    case "refused":
      return { kind: "failed", provider, failure: "refused", reason: result.reason, permanent: true };
    case "retry_later":
      return { kind: "failed", provider, failure: "retries_exhausted", reason: result.reason, permanent: false };
  }
}
