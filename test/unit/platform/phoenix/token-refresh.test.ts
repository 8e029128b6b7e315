import { describe, expect, it } from "vitest";
import type { VerifiedToken, VerifyResult } from "../../../../src/platform/gateway/jwt-verifier.js";
import { isRevoked, withRevocations } from "../../../../src/platform/gateway/token-revocations.js";
import { accessTokenOf, refreshRefusal, refreshReply } from "../../../../src/platform/phoenix/token-refresh.js";

const current = { userId: "alice", workspaceId: "w1", tokenExpiresAt: 1_000 };
const token = (overrides: Partial<VerifiedToken> = {}): VerifiedToken => ({ userId: "alice", workspaceId: "w1", expiresAt: 2_000, issuedAt: 900, claims: {}, ...overrides });

describe("an access_token refresh", () => {
  it("is accepted for the same user and workspace with a later expiry", () => {
    expect(refreshRefusal(current, token())).toBeUndefined();
  });

  it("is refused for another user, another workspace, or an expiry that is not later", () => {
    expect(refreshRefusal(current, token({ userId: "mallory" }))).toBe("the token is for another user");
    expect(refreshRefusal(current, token({ workspaceId: "w2" }))).toBe("the token is for another workspace");
    expect(refreshRefusal(current, token({ expiresAt: 1_000 }))).toMatch(/does not expire later/);
    expect(refreshRefusal(current, token({ expiresAt: 500 }))).toMatch(/does not expire later/);
  });

  it("answers ok with the new expiry and moves the socket's expiry only when accepted", () => {
    const accepted: number[] = [];
    expect(refreshReply(current, { ok: true, token: token() }, (next) => accepted.push(next.expiresAt))).toEqual({ status: "ok", response: { expires_at: 2_000 } });
    expect(refreshReply(current, { ok: true, token: token({ userId: "mallory" }) }, (next) => accepted.push(next.expiresAt))).toEqual({
      status: "error",
      response: { reason: "unauthorized", message: "the token is for another user" },
    });
    expect(accepted).toEqual([2_000]);
  });

  it("answers a token the verifier refused with its message: unauthorized, or unavailable when keys or revocations cannot be read", () => {
    const refused = (code: "invalid_signature" | "revocation_unavailable"): VerifyResult => ({ ok: false, error: { code, message: code } });
    expect(refreshReply(current, refused("invalid_signature"), () => undefined)).toEqual({ status: "error", response: { reason: "unauthorized", message: "invalid_signature" } });
    expect(refreshReply(current, refused("revocation_unavailable"), () => undefined)).toMatchObject({ response: { reason: "unavailable" } });
  });

  it("takes the token from a non-empty access_token string only", () => {
    expect(accessTokenOf({ access_token: "t" })).toBe("t");
    expect(accessTokenOf({ access_token: "" })).toBeUndefined();
    expect(accessTokenOf({ access_token: 5 })).toBeUndefined();
    expect(accessTokenOf({})).toBeUndefined();
  });
});

describe("token revocation", () => {
  it("refuses tokens issued in a second before the revocation's, and tokens without iat", () => {
    expect(isRevoked(99, 100_500)).toBe(true);
    expect(isRevoked(100, 100_500)).toBe(false);
    expect(isRevoked(101, 100_500)).toBe(false);
    expect(isRevoked(undefined, 100_500)).toBe(true);
    expect(isRevoked(1, undefined)).toBe(false);
  });

  it("wraps a verifier: revoked tokens are refused, unreadable revocations are temporary", async () => {
    const verifier = { verify: async (): Promise<VerifyResult> => ({ ok: true, token: token({ issuedAt: 50 }) }) };
    expect(await withRevocations(verifier, () => undefined).verify("t")).toMatchObject({ ok: true });
    expect(await withRevocations(verifier, () => ({ revokedBefore: async () => 60_000 })).verify("t")).toMatchObject({ ok: false, error: { code: "revoked" } });
    expect(await withRevocations(verifier, () => ({ revokedBefore: async () => 10_000 })).verify("t")).toMatchObject({ ok: true });
    const broken = { revokedBefore: async () => Promise.reject(new Error("redis down")) };
    expect(await withRevocations(verifier, () => broken).verify("t")).toMatchObject({ ok: false, error: { code: "revocation_unavailable" } });
  });
});
