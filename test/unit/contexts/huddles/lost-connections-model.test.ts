import { describe, expect, it } from "vitest";
import {
  closedConnectionsOf,
  foldParticipations,
  leavesOfClosed,
  type Seat,
} from "../../../../src/contexts/huddles/projections/lost-connections/lost-connections-model.js";

const T0 = 1_700_000_000_000;
const meta = (eventId: string, workspaceId = "w1") => ({ eventId, occurredAt: T0, correlationId: `corr-${eventId}`, causationId: null, actorId: "alice", workspaceId });
const huddleEvent = (type: string, eventId: string, value: Record<string, unknown>) => ({ fullName: `quikchat.huddles.${type}`, value: { meta: meta(eventId), huddleId: "h1", ...value } });
const joined = (eventId: string, userId: string, connectionId: string | null) => huddleEvent("HuddleParticipantJoined", eventId, { userId, muted: false, videoEnabled: false, connectionId });
const left = (eventId: string, userId: string, reason: string) => huddleEvent("HuddleParticipantLeft", eventId, { userId, reason, emptyExpiresAt: null });
const seat = (connectionId: string): Seat => ({ connectionId, workspaceId: "w1" });

describe("the presence policy of huddles", () => {
  it("follows each participant's connection through joins, moves, leaves and the end", () => {
    const { huddles, leaves } = foldParticipations(new Map(), new Set(), [
      joined("e1", "alice", "a-1"),
      joined("e2", "bob", "b-1"),
      left("e3", "bob", "moved"),
      joined("e4", "bob", "b-2"),
      joined("e5", "carol", null),
    ]);
    expect(huddles.get("h1")).toEqual(new Map([["alice", seat("a-1")], ["bob", seat("b-2")]]));
    expect(leaves).toEqual([]);
    const stored = new Map([["h1", huddles.get("h1")!]]);
    expect(foldParticipations(stored, new Set(), [left("e6", "alice", "left")]).huddles.get("h1")).toEqual(new Map([["bob", seat("b-2")]]));
    expect(foldParticipations(stored, new Set(), [huddleEvent("HuddleEnded", "e7", { reason: "ended", durationMs: 1, endedBy: "alice" })]).huddles.get("h1")).toEqual(new Map());
    // The stored map is read, never changed.
    expect(stored.get("h1")?.size).toBe(2);
  });

  it("removes at once a participant who joins from a connection already closed, caused by the join", () => {
    const { leaves } = foldParticipations(new Map(), new Set(["d-1"]), [joined("e9", "dave", "d-1"), joined("e10", "erin", "x-1")]);
    expect(leaves).toEqual([
      {
        meta: { commandId: "lost-connection:e9:h1", correlationId: "corr-e9", actorId: "system:presence", workspaceId: "w1", issuedAt: T0, replyTo: null },
        huddleId: "h1",
        userId: "dave",
        connectionId: "d-1",
        reason: "connection_lost",
      },
    ]);
  });

  it("removes a closed connection's participant from each of its huddles, with ids derived from the close", () => {
    const closes = closedConnectionsOf([
      { fullName: "quikchat.presence.ConnectionOpened", value: { meta: meta("p0"), userId: "bob", connectionId: "b-1" } },
      { fullName: "quikchat.presence.ConnectionClosed", value: { meta: meta("p1"), userId: "bob", connectionId: "b-1", gatewayId: "gw", reason: "gateway_down" } },
    ]);
    expect(closes).toEqual([{ connectionId: "b-1", userId: "bob", eventId: "p1", occurredAt: T0, correlationId: "corr-p1", workspaceId: "w1" }]);
    const participations = new Map([
      ["h2", { userId: "bob", workspaceId: "w1" }],
      ["h1", { userId: "bob", workspaceId: "w1" }],
    ]);
    const leaves = leavesOfClosed(closes[0]!, participations);
    expect(leaves.map(({ huddleId, userId, connectionId, reason, meta: { commandId } }) => [huddleId, userId, connectionId, reason, commandId])).toEqual([
      ["h1", "bob", "b-1", "connection_lost", "lost-connection:p1:h1"],
      ["h2", "bob", "b-1", "connection_lost", "lost-connection:p1:h2"],
    ]);
    // The same close read again yields the same commands.
    expect(leavesOfClosed(closes[0]!, participations)).toEqual(leaves);
  });
});
