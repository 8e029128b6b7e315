import { describe, expect, it } from "vitest";
import { CredentialFailure, renewableCredential, withCredential, type CredentialRefused } from "../../../../src/infra/push/renewable-credential.js";
import { retryAfterMs } from "../../../../src/infra/push/retry-after.js";

/** A credential issuer counting its calls, on a clock the test moves. */
function issuer(o: { lifetimeMs: number; fail?: () => boolean }) {
  const clock = { now: 1_000_000 };
  let issued = 0;
  const credential = renewableCredential(
    async (nowMs) => {
      await Promise.resolve();
      if (o.fail?.() === true) throw new CredentialFailure({ outcome: "retry_later", reason: "token endpoint: ECONNREFUSED" });
      issued += 1;
      return { value: `credential-${issued}`, renewAt: nowMs + o.lifetimeMs };
    },
    { now: () => clock.now, renewalFloorMs: 20 * 60_000 },
  );
  return { credential, clock, issued: () => issued };
}

describe("a renewable credential", () => {
  it("issues one credential for concurrent callers and reuses it until it is due", async () => {
    const { credential, clock, issued } = issuer({ lifetimeMs: 50 * 60_000 });
    expect(await Promise.all([credential.current(), credential.current(), credential.current()])).toEqual(["credential-1", "credential-1", "credential-1"]);
    clock.now += 49 * 60_000;
    expect(await credential.current()).toBe("credential-1");
    clock.now += 60_000;
    expect(await credential.current()).toBe("credential-2");
    expect(issued()).toBe(2);
  });

  it("replaces a rejected credential once, and its replacement not before the floor", async () => {
    const { credential, clock } = issuer({ lifetimeMs: 50 * 60_000 });
    const first = await credential.current();
    expect(await credential.renewRejected(first)).toBe("credential-2");
    // Another sender rejected by the same old credential gets the replacement, not a third one.
    expect(await credential.renewRejected(first)).toBe("credential-2");
    expect(await credential.renewRejected("credential-2")).toBeUndefined();
    clock.now += 20 * 60_000;
    expect(await credential.renewRejected("credential-2")).toBe("credential-3");
  });

  it("does not keep a failure: the next call issues again", async () => {
    let failing = true;
    const { credential } = issuer({ lifetimeMs: 60_000, fail: () => failing });
    await expect(credential.current()).rejects.toBeInstanceOf(CredentialFailure);
    failing = false;
    expect(await credential.current()).toBe("credential-1");
  });
});

describe("a send with a renewable credential", () => {
  const refused: CredentialRefused = { outcome: "credential_refused", status: 403, reason: "InvalidProviderToken" };

  it("tries once more with a renewed credential, then reports the refusal as auth_failed", async () => {
    const { credential } = issuer({ lifetimeMs: 50 * 60_000 });
    const used: string[] = [];
    const result = await withCredential(credential, (value) => {
      used.push(value);
      return Promise.resolve(refused);
    });
    expect(result).toEqual({ outcome: "auth_failed", status: 403, reason: "InvalidProviderToken" });
    expect(used).toEqual(["credential-1", "credential-2"]);
  });

  it("answers the issuer's failure without attempting", async () => {
    const { credential } = issuer({ lifetimeMs: 60_000, fail: () => true });
    let attempts = 0;
    const result = await withCredential(credential, () => {
      attempts += 1;
      return Promise.resolve({ outcome: "delivered" as const });
    });
    expect(result).toEqual({ outcome: "retry_later", reason: "token endpoint: ECONNREFUSED" });
    expect(attempts).toBe(0);
  });
});

describe("Retry-After", () => {
  const now = Date.parse("2026-12-04T18:00:00Z");
  it("reads delay-seconds and HTTP dates, and nothing else", () => {
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs(["5"], now)).toBe(5_000);
    expect(retryAfterMs("Fri, 04 Dec 2026 18:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("Fri, 04 Dec 2026 17:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs("-3", now)).toBeUndefined();
  });
});
