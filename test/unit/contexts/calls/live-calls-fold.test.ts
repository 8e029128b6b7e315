import { describe, expect, it } from "vitest";
import { foldLiveCalls, inCall, type LiveCallView } from "../../../../src/contexts/calls/projections/live-calls/live-calls-model.js";

const meta = (actorId: string, occurredAt = 1_000) => ({ eventId: "e", occurredAt, correlationId: "c", causationId: null, actorId, workspaceId: "w1" });
const record = (type: string, value: Record<string, unknown>, at = 1_000) => ({ fullName: `quikchat.calls.${type}`, value: { meta: meta("x", at), callId: "k", ...value } });
const started = (callerId: string, calleeIds: string[]) =>
  record("CallStarted", { callType: "video", callerId, calleeIds, conversationId: null, ringingExpiresAt: 61_000 });

describe("the live-calls fold", () => {
  it("keeps a group call ringing for the others when one callee declines, telling the participants and that callee", () => {
    const { calls, userPushes } = foldLiveCalls(new Map(), [started("alice", ["bob", "carol"]), record("CallRejected", { userId: "bob", reason: "declined" })]);
    const call = calls.get("k")!;
    expect(call).toMatchObject({ status: "ringing", parties: { alice: "joined", bob: "rejected", carol: "ringing" } });
    expect(inCall(call, "carol")).toBe(true);
    expect(inCall(call, "bob")).toBe(false);
    expect(userPushes.filter((push) => push.event === "call:rejected").map((push) => push.userId)).toEqual(["alice", "bob"]);
  });

  it("treats user ids as plain keys, ignores a second start and events of calls never seen", () => {
    const { calls, memberships, userPushes } = foldLiveCalls(new Map(), [
      record("ParticipantJoined", { callId: "other", userId: "mallory" }),
      started("__proto__", ["constructor"]),
      started("mallory", ["bob"]),
    ]);
    expect([...calls.keys()]).toEqual(["k"]);
    const call = calls.get("k")!;
    expect(Object.getPrototypeOf(call.parties)).toBe(Object.prototype);
    expect(call.parties).toEqual(Object.fromEntries([["constructor", "ringing"], ["__proto__", "joined"]]));
    expect(inCall(call, "__proto__")).toBe(true);
    expect(inCall(call, "toString")).toBe(false);
    expect([...memberships.keys()]).toEqual(["__proto__"]);
    expect(userPushes.map((push) => push.userId)).toEqual(["constructor", "constructor"]);
  });

  it("changes nothing and pushes nothing for an ended call", () => {
    const ended: LiveCallView = {
      callId: "k",
      workspaceId: "w1",
      callType: "audio",
      callerId: "alice",
      conversationId: null,
      status: "ended",
      parties: { alice: "joined", bob: "left" },
      startedAt: 0,
      answeredAt: 10,
      endReason: "completed",
      recordingId: null,
    };
    const { calls, userPushes, callPushes } = foldLiveCalls(new Map([["k", ended]]), [record("CallEnded", { reason: "completed", durationMs: 5, endedBy: null })]);
    expect(calls.get("k")).toBe(ended);
    expect([...userPushes, ...callPushes]).toEqual([]);
  });

  it("keeps when each party was rung, came in, left or stopped ringing, and why", () => {
    const { calls } = foldLiveCalls(new Map(), [
      started("alice", ["bob", "carol"]),
      record("CallAnswered", { userId: "bob", connectionId: "b1", maxDurationExpiresAt: 99_000 }, 2_000),
      record("ParticipantJoined", { userId: "bob" }, 2_001),
      record("CallRejected", { userId: "carol", reason: "no_answer" }, 3_000),
      record("ParticipantLeft", { userId: "bob" }, 4_000),
      record("ParticipantsInvited", { userIds: ["carol"], ringingExpiresAt: 65_000 }, 5_000),
      record("ParticipantJoined", { userId: "bob" }, 6_000),
    ]);
    const call = calls.get("k")!;
    expect(call.answeredAt).toBe(2_000);
    expect(call.times).toEqual({
      alice: { invitedAt: null, joinedAt: 1_000, leftAt: null, rejectReason: null },
      bob: { invitedAt: 1_000, joinedAt: 6_000, leftAt: null, rejectReason: null },
      carol: { invitedAt: 5_000, joinedAt: null, leftAt: null, rejectReason: null },
    });
    const { calls: after } = foldLiveCalls(calls, [record("CallRejected", { userId: "carol", reason: "declined" }, 7_000)]);
    expect(after.get("k")?.times?.carol).toEqual({ invitedAt: 5_000, joinedAt: null, leftAt: 7_000, rejectReason: "declined" });
  });

  it("keeps the running recording with who started it and when, and when the call ended", () => {
    const { calls } = foldLiveCalls(new Map(), [
      started("alice", ["bob"]),
      record("CallAnswered", { userId: "bob", connectionId: null, maxDurationExpiresAt: 99_000 }, 2_000),
      record("RecordingStarted", { recordingId: "r1", startedBy: "bob" }, 3_000),
    ]);
    expect(calls.get("k")).toMatchObject({ recordingId: "r1", recording: { recordingId: "r1", startedBy: "bob", startedAt: 3_000 }, endedAt: null });
    const { calls: after } = foldLiveCalls(calls, [
      record("RecordingStopped", { recordingId: "r1", stoppedBy: null, durationMs: 1_000 }, 4_000),
      record("CallEnded", { reason: "completed", durationMs: 2_000, endedBy: "alice" }, 4_000),
    ]);
    expect(after.get("k")).toMatchObject({ status: "ended", recordingId: null, recording: null, endedAt: 4_000 });
  });

  it("gives the type and duration of an answered call that ends, once, and nothing for one that ends unanswered", () => {
    const answered = foldLiveCalls(new Map(), [
      started("alice", ["bob"]),
      record("CallAnswered", { userId: "bob", connectionId: null }),
      record("CallEnded", { reason: "completed", durationMs: 42_000, endedBy: "alice" }),
      record("CallEnded", { reason: "completed", durationMs: 43_000, endedBy: "bob" }),
    ]);
    expect(answered.answeredEnds).toEqual([{ callType: "video", durationMs: 42_000 }]);
    const unanswered = foldLiveCalls(new Map(), [started("alice", ["bob"]), record("CallEnded", { reason: "no_answer", durationMs: 0, endedBy: null })]);
    expect(unanswered.answeredEnds).toEqual([]);
  });
});
