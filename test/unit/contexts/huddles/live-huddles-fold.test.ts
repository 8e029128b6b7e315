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

  it("tells each user newly invited, on their own channel, who invited them to which huddle, and nobody twice", () => {
    const invited = (actorId: string, userIds: string[]) => ({ fullName: "quikchat.huddles.HuddleParticipantsInvited", value: { meta: { ...meta, actorId }, huddleId: "h1", userIds } });
    const titled = record("HuddleCreated", { createdBy: "alice", conversationId: null, title: "Standup" });
    const { huddles, pushes } = foldLiveHuddles(new Map(), [titled, invited("alice", ["bob", "carol", "bob"]), invited("bob", ["carol", "dave"])]);
    expect(huddles.get("h1")?.invited).toEqual(["bob", "carol", "dave"]);
    const invitation = { huddleId: "h1", event: "huddle_invited", workspaceId: "w1", conversationId: null, title: "Standup" };
    expect(pushes).toEqual([
      { to: { userId: "bob" }, push: { ...invitation, invitedBy: "alice" } },
      { to: { userId: "carol" }, push: { ...invitation, invitedBy: "alice" } },
      { to: { userId: "dave" }, push: { ...invitation, invitedBy: "bob" } },
    ]);
  });

  it("tells nobody of an invitation to a huddle that ended", () => {
    const { pushes } = foldLiveHuddles(new Map(), [created, ended, record("HuddleParticipantsInvited", { userIds: ["bob"] })]);
    expect(pushes.filter(({ to }) => "userId" in to)).toEqual([]);
  });
});
