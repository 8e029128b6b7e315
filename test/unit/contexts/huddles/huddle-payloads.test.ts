import { describe, expect, it } from "vitest";
import { huddleFrames, invitationFrames } from "../../../../src/contexts/huddles/channels/huddle-channels.js";
import { MAX_INVITEES, MAX_TITLE, arrivalOf, createPayload, enabledOf, huddleIdOf, inviteesOf, raisedOf } from "../../../../src/contexts/huddles/channels/huddle-payloads.js";
import { onTopic } from "../../../../src/platform/gateway/payload-fields.js";

describe("huddle payloads", () => {
  it("reads a toggle's wanted state and a hand, and refuses anything but a boolean", () => {
    expect(enabledOf({ enabled: true })).toBe(true);
    expect(enabledOf({ enabled: false })).toBe(false);
    expect(raisedOf({ raised: true })).toBe(true);
    for (const enabled of [undefined, null, "true", 1, [true]]) expect(() => enabledOf({ enabled })).toThrow(/enabled must be true or false/);
    expect(() => raisedOf({})).toThrow(/raised must be true or false/);
  });

  it("arrives with the microphone on and the camera off unless the join says otherwise", () => {
    expect(arrivalOf({})).toEqual({ audio: true, video: false });
    expect(arrivalOf({ audio: false, video: true })).toEqual({ audio: false, video: true });
    expect(arrivalOf({ audio: null })).toEqual({ audio: true, video: false });
    expect(() => arrivalOf({ video: "yes" })).toThrow(/video must be true or false/);
  });

  it("reads a creation: conversation, invitees once each, a title (blank: none)", () => {
    expect(createPayload({})).toEqual({ conversationId: null, inviteeIds: [], title: null, audio: true, video: false });
    expect(createPayload({ conversationId: "c1", inviteeIds: ["bob", "carol", "bob"], title: "Sync", video: true })).toEqual({
      conversationId: "c1",
      inviteeIds: ["bob", "carol"],
      title: "Sync",
      audio: true,
      video: true,
    });
    expect(createPayload({ title: "   " }).title).toBeNull();
  });

  it("refuses creations with malformed fields, naming them", () => {
    expect(() => createPayload({ conversationId: "" })).toThrow(/conversationId may not be empty/);
    expect(() => createPayload({ conversationId: 7 })).toThrow(/conversationId must be a string/);
    expect(() => createPayload({ inviteeIds: "bob" })).toThrow(/inviteeIds must be a list of user ids/);
    expect(() => createPayload({ inviteeIds: ["bob", ""] })).toThrow(/inviteeIds must be user ids of 1 to 128 characters/);
    expect(() => createPayload({ inviteeIds: ["x".repeat(129)] })).toThrow(/1 to 128/);
    expect(() => createPayload({ inviteeIds: Array.from({ length: MAX_INVITEES + 1 }, (_, i) => `u${i}`) })).toThrow(/at most 64 users/);
    expect(() => createPayload({ title: "t".repeat(MAX_TITLE + 1) })).toThrow(/title must be at most 200 characters/);
  });

  it("reads an invitation of at least one user, and a huddle id", () => {
    expect(inviteesOf({ userIds: ["dave", "dave", "erin"] })).toEqual(["dave", "erin"]);
    expect(() => inviteesOf({ userIds: [] })).toThrow(/at least one user/);
    expect(() => inviteesOf({})).toThrow(/userIds must be a list/);
    expect(huddleIdOf({ huddleId: "h1" })).toBe("h1");
    expect(() => huddleIdOf({ huddleId: "" })).toThrow(/huddleId is required/);
  });

  it("takes the topic's huddle for a push that names none, and refuses one naming another", () => {
    expect(onTopic({ enabled: true }, "huddleId", "h1")).toEqual({ enabled: true, huddleId: "h1" });
    expect(onTopic({ huddleId: "h1" }, "huddleId", "h1")).toEqual({ huddleId: "h1" });
    expect(() => onTopic({ huddleId: "h2" }, "huddleId", "h1")).toThrow(/huddleId must be the one of this topic/);
  });
});

describe("huddle frames", () => {
  const bob = { userId: "bob", audio: false, video: true, screen: false, handRaised: true, joinedAt: 1_000 };

  it("names every push in both vocabularies, without connection ids", () => {
    expect(huddleFrames({ huddleId: "h1", event: "participant_joined", participant: bob })).toEqual([
      ["huddle:participant:joined", { huddleId: "h1", ...bob }],
      ["participant_joined", { huddleId: "h1", ...bob }],
    ]);
    expect(huddleFrames({ huddleId: "h1", event: "participant_left", userId: "bob", reason: "connection_lost", connectionId: "secret-connection" })).toEqual([
      ["huddle:participant:left", { huddleId: "h1", userId: "bob", reason: "connection_lost" }],
      ["participant_left", { huddleId: "h1", userId: "bob", reason: "connection_lost" }],
    ]);
    const ended = { huddleId: "h1", reason: "ended", endedBy: "alice", durationMs: 5_000 } as const;
    expect(huddleFrames({ event: "huddle_ended", ...ended })).toEqual([
      ["huddle:ended", ended],
      ["huddle_ended", ended],
    ]);
    expect(huddleFrames({ huddleId: "h1", event: "huddle_started", conversationId: "c1", startedBy: "alice" })).toEqual([]);
  });

  it("names an invitation in both vocabularies on the user channel, without its workspace, and never on the huddle's topic", () => {
    const invitation = { huddleId: "h1", event: "huddle_invited", workspaceId: "w1", conversationId: "c1", invitedBy: "alice", title: null } as const;
    const payload = { huddleId: "h1", conversationId: "c1", invitedBy: "alice", title: null };
    expect(invitationFrames(invitation)).toEqual([
      ["huddle:invited", payload],
      ["huddle_invited", payload],
    ]);
    expect(huddleFrames(invitation)).toEqual([]);
  });

  it("says muted when a toggle turned its track off and unmuted when on, naming the track", () => {
    const { joinedAt: _joinedAt, ...state } = bob;
    const frames = (track: "audio" | "video" | "screen" | "hand") => huddleFrames({ huddleId: "h1", event: "participant_updated", participant: bob, track });
    expect(frames("audio")).toEqual([
      ["huddle:participant:updated", { huddleId: "h1", ...state }],
      ["participant_muted", { huddleId: "h1", ...state, track: "audio" }],
    ]);
    expect(frames("video")[1]).toEqual(["participant_unmuted", { huddleId: "h1", ...state, track: "video" }]);
    expect(frames("screen")[1]?.[0]).toBe("participant_muted");
    expect(frames("hand")[1]?.[0]).toBe("participant_unmuted");
  });
});
