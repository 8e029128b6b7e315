import { describe, expect, it } from "vitest";
import { foldSessions } from "../../../../src/contexts/users/projections/sessions/redis-sessions-store.js";
import { EVERY_TOKEN } from "../../../../src/contexts/users/projections/sessions/sessions-model.js";
import { parseInstant } from "../../../../src/contexts/users/tools.js";

const meta = (occurredAt: number) => ({ eventId: `e${occurredAt}`, occurredAt, correlationId: "c", causationId: null, actorId: "system:operator", workspaceId: "w1" });
const disconnected = (userId: string, occurredAt: number, tokensRevokedBefore: number | null, cause = "requested") => ({
  fullName: "quikchat.sessions.UserDisconnected",
  value: { meta: meta(occurredAt), userId, cause, tokensRevokedBefore },
});

describe("the sessions projection's fold", () => {
  it("keeps each user's latest revocation, every token for a deleted user, and announces every disconnect in order", () => {
    const outcome = foldSessions([
      disconnected("alice", 10, null),
      disconnected("bob", 11, 11),
      disconnected("alice", 12, 12),
      disconnected("carol", 13, 13, "user_deleted"),
      { fullName: "quikchat.sessions.ConnectionsRefreshed", value: { meta: meta(14), userId: "bob", connectionId: "k1", expiresAt: 99 } },
      { fullName: "quikchat.typing.TypingStarted", value: {} },
    ]);
    expect(Object.fromEntries(outcome.revocations)).toEqual({ bob: 11, alice: 12, carol: EVERY_TOKEN });
    expect(outcome.deltas).toEqual([
      { delta: { kind: "disconnect", userId: "alice", cause: "requested" }, occurredAt: 10 },
      { delta: { kind: "disconnect", userId: "bob", cause: "requested" }, occurredAt: 11 },
      { delta: { kind: "disconnect", userId: "alice", cause: "requested" }, occurredAt: 12 },
      { delta: { kind: "disconnect", userId: "carol", cause: "user_deleted" }, occurredAt: 13 },
      { delta: { kind: "refresh", userId: "bob", connectionId: "k1", expiresAt: 99 }, occurredAt: 14 },
    ]);
  });
});

describe("the instants of `quikchat users refresh --until`", () => {
  it("are durations from now or ISO times; anything else is refused", () => {
    expect(parseInstant("90s", 1_000)).toBe(91_000);
    expect(parseInstant("2m", 0)).toBe(120_000);
    expect(parseInstant("5", 0)).toBe(5_000);
    expect(parseInstant("2026-12-03T20:00:00Z")).toBe(Date.parse("2026-12-03T20:00:00Z"));
    expect(() => parseInstant("soon")).toThrow(/ISO time/);
  });
});
