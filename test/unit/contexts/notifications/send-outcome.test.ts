import { describe, expect, it } from "vitest";
import { outcomeOf, retryDelay } from "../../../../src/contexts/notifications/notifier/send-outcome.js";

const budget = { maxAttempts: 4, retryBaseMs: 1_000, retryMaxMs: 3_000 };

describe("the notifier's retries", () => {
  it("doubles the wait up to the maximum, and stops after the last attempt", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelay(attempt, undefined, budget))).toEqual([1_000, 2_000, 3_000, undefined]);
  });

  it("waits as long as the provider's Retry-After asks, even beyond the maximum", () => {
    expect(retryDelay(1, 10_000, budget)).toBe(10_000);
    expect(retryDelay(2, 500, budget)).toBe(2_000);
  });
});

describe("the outcome of a push", () => {
  it("sorts the provider's answer: only a dead token carries the token to remove", () => {
    expect(outcomeOf({ outcome: "delivered", id: "A-1" }, "apns", "alert", "t")).toEqual({ kind: "sent", provider: "apns", providerMessageId: "A-1", pushKind: "alert" });
    expect(outcomeOf({ outcome: "token_dead", status: 410, reason: "Unregistered" }, "apns", "alert", "t")).toMatchObject({ failure: "token_dead", permanent: true, deadToken: "t" });
    for (const result of [
      { outcome: "auth_failed", status: 403, reason: "InvalidProviderToken" },
      { outcome: "retry_later", status: 503, reason: "ServiceUnavailable" },
      { outcome: "refused", status: 400, reason: "PayloadTooLarge" },
    ] as const) {
      expect(outcomeOf(result, "apns", "alert", "t")).not.toHaveProperty("deadToken");
    }
    expect(outcomeOf({ outcome: "token_dead", status: 410, reason: "Unregistered", since: new Date(1_000) }, "apns", "alert", "t", 500)).toMatchObject({ deadToken: "t" });
    // APNs dates the token's death before the app registered it again: it is live, kept.
    expect(outcomeOf({ outcome: "token_dead", status: 410, reason: "Unregistered", since: new Date(1_000) }, "apns", "alert", "t", 2_000)).not.toHaveProperty("deadToken");
    expect(outcomeOf({ outcome: "retry_later", reason: "ECONNREFUSED" }, "fcm", "alert", "t")).toMatchObject({ failure: "retries_exhausted", permanent: false });
  });
});
