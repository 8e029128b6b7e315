import { describe, expect, it } from "vitest";
import { foldLiveHuddles, type LiveHuddleView } from "../../../../src/contexts/huddles/projections/live-huddles/live-huddles-model.js";

const T0 = 1_700_000_000_000;
const meta = { eventId: "e", occurredAt: T0, correlationId: "c", causationId: null, actorId: "alice", workspaceId: "w1" };
const record = (type: string, value: Record<string, unknown>) => ({ fullName: `quikchat.huddles.${type}`, value: { meta, huddleId: "h1", ...value } });
const created = record("HuddleCreated", { createdBy: "alice", conversationId: "conv-1", title: null });
const joined = (userId: string) => record("HuddleParticipantJoined", { userId, muted: false, videoEnabled: false, connectionId: `${userId}-c1` });
const ended = record("HuddleEnded", { reason: "ended", durationMs: 0, endedBy: "alice" });

describe("the live-huddles fold", () => {
  it("changes and pushes nothing for events of a huddle never seen", () => {
    const { huddles, pushes } = foldLiveHuddles(new Map(), [joined("bob"), record("AudioToggled", { userId: "bob", muted: true }), ended]);
    expect(huddles.size).toBe(0);
    expect(pushes).toEqual([]);
  });

  it("ignores a second creation, events after the end, and toggles of someone not in the huddle", () => {
    const { huddles, pushes } = foldLiveHuddles(new Map(), [
      created,
      record("HuddleCreated", { createdBy: "mallory", conversationId: "conv-9", title: "x" }),
      record("HandRaised", { userId: "bob", raised: true }),
      ended,
      joined("bob"),
    ]);
    expect(huddles.get("h1")).toMatchObject({ createdBy: "alice", status: "ended", participants: {} });
    expect(pushes.map(({ push }) => push.event)).toEqual(["huddle_started", "huddle_ended", "huddle_ended"]);
  });

  it("keeps user ids such as __proto__ as plain keys", () => {
    const { huddles } = foldLiveHuddles(new Map(), [created, joined("__proto__"), record("VideoToggled", { userId: "__proto__", videoEnabled: true })]);
    const huddle = huddles.get("h1") as LiveHuddleView;
    expect(Object.keys(huddle.participants)).toEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(huddle.participants, "__proto__")?.value).toMatchObject({ video: true });
  });
});
