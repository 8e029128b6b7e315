import { describe, expect, it } from "vitest";
import { callStep, type RingingCall } from "../../../../src/contexts/notifications/policy/call-policy.js";
import type { CallsEvent, EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";

const NOW = 1_000_000;
const meta: EventMeta = { eventId: "e", occurredAt: NOW, correlationId: "k1", causationId: null, actorId: "alice", workspaceId: "w1" };
const at = { partition: 2, offset: 40 };
const nameOf = (userId: string) => (userId === "alice" ? "Alice" : userId);

const started = (calleeIds: string[], ringingExpiresAt = NOW + 60_000): CallsEvent => ({
  type: "CallStarted",
  data: { meta, callId: "k1", callType: "video", callerId: "alice", calleeIds, conversationId: "c1", ringingExpiresAt },
});
const ringing = (...ids: string[]): RingingCall => ({ callerId: "alice", callType: "video", conversationId: "c1", ringing: ids });

describe("the notifications of a call", () => {
  it("rings every callee with a high-priority incoming call, collapsed per call", () => {
    const step = callStep(undefined, started(["bob", "carol"]), at, NOW, nameOf);
    expect(step.call).toEqual(ringing("bob", "carol"));
    expect(step.notifications.map((n) => [n.userId, n.notificationId])).toEqual([
      ["bob", "call:k1:incoming:bob:2.40"],
      ["carol", "call:k1:incoming:carol:2.40"],
    ]);
    expect(step.notifications[0]).toMatchObject({
      category: "incoming_call",
      priority: "high",
      title: "Incoming video call",
      body: "Alice is calling you",
      callId: "k1",
      conversationId: "c1",
      collapseKey: "call:k1",
      data: { callId: "k1", callerId: "alice", callType: "video", conversationId: "c1" },
    });
  });

  it("rings nobody when the ringing is over by the time the event is read (a late replay)", () => {
    expect(callStep(undefined, started(["bob"], NOW - 1), at, NOW, nameOf).notifications).toEqual([]);
  });

  it("rings users invited later, once per invitation", () => {
    const step = callStep(ringing("bob"), { type: "ParticipantsInvited", data: { meta, callId: "k1", userIds: ["dave"], ringingExpiresAt: NOW + 5_000 } }, { partition: 2, offset: 41 }, NOW, nameOf);
    expect(step.call).toEqual(ringing("bob", "dave"));
    expect(step.notifications.map((n) => n.notificationId)).toEqual(["call:k1:incoming:dave:2.41"]);
  });

  it("tells a callee who did not answer in time of a missed call, while the call goes on", () => {
    const step = callStep(ringing("bob", "carol"), { type: "CallRejected", data: { meta, callId: "k1", userId: "carol", reason: "no_answer" } }, at, NOW, nameOf);
    expect(step.call).toEqual(ringing("bob"));
    expect(step.notifications).toEqual([expect.objectContaining({ userId: "carol", category: "missed_call", notificationId: "call:k1:missed:carol", title: "Missed video call", body: "You missed a call from Alice", collapseKey: "call:k1" })]);
  });

  it("does not call a declined or answered call missed", () => {
    const declined = callStep(ringing("bob", "carol"), { type: "CallRejected", data: { meta, callId: "k1", userId: "carol", reason: "declined" } }, at, NOW, nameOf);
    expect(declined).toEqual({ call: ringing("bob"), notifications: [] });
    const answered = callStep(ringing("bob"), { type: "CallAnswered", data: { meta, callId: "k1", userId: "bob", connectionId: "x", maxDurationExpiresAt: NOW + 1 } }, at, NOW, nameOf);
    expect(answered).toEqual({ call: ringing(), notifications: [] });
    expect(callStep(ringing(), { type: "CallEnded", data: { meta, callId: "k1", reason: "completed", durationMs: 5_000, endedBy: "bob" } }, at, NOW, nameOf)).toEqual({ call: undefined, notifications: [] });
  });

  it("tells every callee still ringing of a missed call when the call ends unanswered (the caller hung up, or nobody answered)", () => {
    const step = callStep(ringing("bob", "carol"), { type: "CallEnded", data: { meta, callId: "k1", reason: "cancelled", durationMs: 0, endedBy: "alice" } }, at, NOW, nameOf);
    expect(step.call).toBeUndefined();
    expect(step.notifications.map((n) => [n.userId, n.category])).toEqual([
      ["bob", "missed_call"],
      ["carol", "missed_call"],
    ]);
  });

  it("ignores events of a call it never saw start", () => {
    expect(callStep(undefined, { type: "CallEnded", data: { meta, callId: "k9", reason: "no_answer", durationMs: 0, endedBy: null } }, at, NOW, nameOf)).toEqual({ call: undefined, notifications: [] });
  });
});
