import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/contexts/index.js";
import { ConfigError } from "../../../../src/platform/config/config-slice.js";

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

const PRODUCTION = { NODE_ENV: "production", JWT_SECRET: "kq3Vd8n2XwLr5tYb9Zc1Fg7Hj4Mp6Qs0UaEiOoRu", QUIKCHAT_STACK: "off" };
const TURN = "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349";

describe("the calls configuration", () => {
  it("points TURN at the local stack's coturn when nothing is set, outside production only", () => {
    expect(loadConfig({}).calls).toEqual({
      turn: { kind: "stack" },
      stunServers: [],
      ttlSeconds: 86_400,
      ringingTimeoutMs: 60_000,
      maxDurationMs: 3_600_000,
      signalsPerMinute: 600,
      recordings: { target: { kind: "stack" }, bucket: "quikchat-recordings", region: "us-east-1", maxBytes: 1024 ** 3 },
    });
    expect(loadConfig({ NODE_ENV: "test" }).calls.turn).toEqual({ kind: "stack" });
    expect(loadConfig(PRODUCTION).calls.turn).toEqual({ kind: "none" });
  });

  it("reads a shared secret with the TURN and STUN servers it is for", () => {
    const calls = loadConfig({ TURN_SECRET: "s".repeat(40), TURN_SERVERS: TURN, STUN_SERVERS: "stun:stun.example.com:3478, stun:[::1]:3480", TURN_TTL: "3600" }).calls;
    expect(calls).toMatchObject({
      turn: { kind: "secret", servers: ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"], secret: "s".repeat(40) },
      stunServers: ["stun:stun.example.com:3478", "stun:[::1]:3480"],
      ttlSeconds: 3_600,
    });
  });

  it("reads the call timers and the signaling budget", () => {
    const calls = loadConfig({ CALL_RINGING_TIMEOUT_MS: "2000", CALL_MAX_DURATION_MS: "60000", RATE_LIMIT_SIGNALS_PER_MIN: "30" }).calls;
    expect(calls).toMatchObject({ ringingTimeoutMs: 2_000, maxDurationMs: 60_000, signalsPerMinute: 30 });
    expect(() => loadConfig({ CALL_RINGING_TIMEOUT_MS: "0" })).toThrow(/CALL_RINGING_TIMEOUT_MS/);
  });

  it("reads static credentials when no secret is set", () => {
    expect(loadConfig({ TURN_SERVERS: TURN, TURN_USERNAME: "quikchat", TURN_CREDENTIAL: "pw" }).calls.turn).toEqual({
      kind: "static",
      servers: ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"],
      username: "quikchat",
      credential: "pw",
    });
  });

  it("refuses credentials without servers, servers without credentials, and two kinds of credentials at once", () => {
    expect(problemsOf({ TURN_SECRET: "s".repeat(40) })).toEqual([expect.stringMatching(/^TURN_SERVERS: required with TURN_SECRET/)]);
    expect(problemsOf({ TURN_SERVERS: TURN })).toEqual([expect.stringMatching(/^TURN_SERVERS: set TURN_SECRET .* or TURN_USERNAME and TURN_CREDENTIAL/)]);
    expect(problemsOf({ TURN_SERVERS: TURN, TURN_USERNAME: "quikchat" })).toEqual([expect.stringMatching(/^TURN_USERNAME, TURN_CREDENTIAL: set both or neither/)]);
    expect(problemsOf({ TURN_SERVERS: TURN, TURN_SECRET: "s".repeat(40), TURN_USERNAME: "u", TURN_CREDENTIAL: "c" })).toEqual([
      expect.stringMatching(/^TURN_USERNAME, TURN_CREDENTIAL: static credentials are for a TURN server without TURN_SECRET/),
    ]);
  });

  it("refuses URIs of the wrong scheme and a TTL that is not a positive number of seconds", () => {
    const problems = problemsOf({ TURN_SERVERS: "stun:x:3478", STUN_SERVERS: "turn:x:3478", TURN_TTL: "0", TURN_SECRET: "s".repeat(40) });
    expect(problems.map((problem) => problem.split(":")[0]).sort()).toEqual(["STUN_SERVERS", "TURN_SERVERS", "TURN_TTL"]);
    expect(problemsOf({ TURN_SERVERS: "https://turn.example.com", TURN_SECRET: "s".repeat(40) })).toEqual([expect.stringMatching(/^TURN_SERVERS: must be a comma-separated list of URIs/)]);
  });

  it("refuses a short or placeholder secret in production, and only there", () => {
    const servers = { TURN_SERVERS: TURN };
    expect(problemsOf({ ...PRODUCTION, ...servers, TURN_SECRET: "short-secret" })).toEqual(["TURN_SECRET: must be at least 32 characters in production"]);
    expect(problemsOf({ ...PRODUCTION, ...servers, TURN_SECRET: "replace-with-a-secret-of-at-least-32-chars" })).toEqual([
      expect.stringMatching(/^TURN_SECRET: a placeholder from an example is refused in production/),
    ]);
    expect(loadConfig({ ...servers, TURN_SECRET: "short-secret" }).calls.turn).toMatchObject({ kind: "secret", secret: "short-secret" });
    expect(loadConfig({ ...PRODUCTION, ...servers, TURN_SECRET: "Zc1Fg7Hj4Mp6Qs0UaEiOoRukq3Vd8n2XwLr5tYb9" }).calls.turn.kind).toBe("secret");
  });

  it("reports its problems along with other slices'", () => {
    const problems = problemsOf({ PORT: "nope", TURN_SECRET: "s".repeat(40), TURN_TTL: "-5" });
    expect(problems.map((problem) => problem.split(":")[0])).toEqual(expect.arrayContaining(["PORT", "TURN_TTL"]));
  });
});
