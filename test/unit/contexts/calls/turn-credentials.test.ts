import { describe, expect, it } from "vitest";
import { iceConfig, turnCredentialsFor, type IceServers } from "../../../../src/contexts/calls/ice-servers.js";
import { turnCredentials } from "../../../../src/contexts/calls/turn-credentials.js";

const SECRET = "quikchat-turn-test-secret";
/** 2026-01-01T00:00:00Z, in unix seconds. */
const EXPIRY = 1_767_225_600;
/** A day before EXPIRY, plus 999 ms that do not count. */
const NOW_MS = (EXPIRY - 86_400) * 1000 + 999;

describe("TURN credentials in coturn's REST-API scheme", () => {
  it("name the expiry and the user, and sign them as openssl does", () => {
    // printf %s "1767225600:alice" | openssl dgst -sha1 -hmac "quikchat-turn-test-secret" -binary | base64
    expect(turnCredentials(SECRET, "alice", NOW_MS, 86_400)).toEqual({ username: "1767225600:alice", credential: "Wqr10/21wL/ZrKTlx7cY2VNT/Uo=" });
  });

  it("keep a user id holding the separator whole: coturn reads the expiry before the first colon", () => {
    // printf %s "1700000000:user:with:colons@w1" | openssl dgst -sha1 -hmac "quikchat-turn-test-secret" -binary | base64
    expect(turnCredentials(SECRET, "user:with:colons@w1", 1_699_999_999_000, 1)).toEqual({
      username: "1700000000:user:with:colons@w1",
      credential: "u0hU2xMLEI90SUv65bMZ7fZSt+o=",
    });
  });

  it("are base64 of the raw digest, not hex", () => {
    const { credential } = turnCredentials(SECRET, "alice", NOW_MS, 86_400);
    expect(Buffer.from(credential, "base64")).toHaveLength(20);
    expect(credential).not.toBe("5aaaf5d3fdb5c0bfd9aca4e5c7b718d95353fd4a");
  });
});

describe("the ICE servers a caller is given", () => {
  const stun = ["stun:stun.example.com:3478"];
  const turnServers = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"];

  it("are the STUN servers, then the TURN servers with the caller's signed credentials", () => {
    const ice: IceServers = { stun, turn: { kind: "secret", servers: turnServers, secret: SECRET }, ttlSeconds: 86_400 };
    expect(iceConfig(ice, "alice", NOW_MS)).toEqual({
      iceServers: [{ urls: stun }, { urls: turnServers, username: "1767225600:alice", credential: "Wqr10/21wL/ZrKTlx7cY2VNT/Uo=" }],
      ttl: 86_400,
    });
    expect(turnCredentialsFor(ice, "alice", NOW_MS)).toEqual({
      username: "1767225600:alice",
      credential: "Wqr10/21wL/ZrKTlx7cY2VNT/Uo=",
      password: "Wqr10/21wL/ZrKTlx7cY2VNT/Uo=",
      ttl: 86_400,
      uris: turnServers,
    });
  });

  it("carry static credentials as configured", () => {
    const ice: IceServers = { stun: [], turn: { kind: "static", servers: turnServers, username: "quikchat", credential: "s3cret" }, ttlSeconds: 600 };
    expect(iceConfig(ice, "alice", NOW_MS)).toEqual({ iceServers: [{ urls: turnServers, username: "quikchat", credential: "s3cret" }], ttl: 600 });
    expect(turnCredentialsFor(ice, "bob", NOW_MS)).toEqual({ username: "quikchat", credential: "s3cret", password: "s3cret", ttl: 600, uris: turnServers });
  });

  it("list only the STUN servers, and no credentials, when no TURN server is configured", () => {
    const ice: IceServers = { stun, turn: { kind: "none" }, ttlSeconds: 86_400 };
    expect(iceConfig(ice, "alice", NOW_MS)).toEqual({ iceServers: [{ urls: stun }], ttl: 86_400 });
    expect(iceConfig({ ...ice, stun: [] }, "alice", NOW_MS).iceServers).toEqual([]);
    expect(turnCredentialsFor(ice, "alice", NOW_MS)).toBeUndefined();
  });
});
