import { describe, expect, it } from "vitest";
import { foldLiveCalls, inCall, type LiveCallView } from "../../../../src/contexts/calls/projections/live-calls/live-calls-model.js";

const meta = (actorId: string) => ({ eventId: "e", occurredAt: 1_000, correlationId: "c", causationId: null, actorId, workspaceId: "w1" });
const record = (type: string, value: Record<string, unknown>) => ({ fullName: `quikchat.calls.${type}`, value: { meta: meta("x"), callId: "k", ...value } });
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
