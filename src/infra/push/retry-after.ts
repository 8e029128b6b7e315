import type { ProviderFailure } from "../../platform/notifications/provider-result.js";

/**
 * How long a `Retry-After` header asks to wait, in milliseconds: delay-seconds or an HTTP date
 * (RFC 9110 §10.2.3), a date in the past being no wait. Undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const value = (typeof header === "string" ? header : header?.[0])?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its day and month; anything else Date.parse would take ("-3") is not one.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Whether an HTTP status asks to try again later (429, 5xx) rather than refusing for good. */
export const isTemporaryStatus = (status: number): boolean => status === 429 || status >= 500;

/** The `retry_later` answer for a temporary HTTP status, with the wait its `Retry-After` asks for. */
export function retryLater(status: number, reason: string, retryAfter: string | readonly string[] | undefined, nowMs: number): Extract<ProviderFailure, { outcome: "retry_later" }> {
  const wait = retryAfterMs(retryAfter, nowMs);
  return { outcome: "retry_later", status, reason, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
}
