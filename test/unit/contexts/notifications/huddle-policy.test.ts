import { describe, expect, it } from "vitest";
import { huddleStep, type InvitingHuddle } from "../../../../src/contexts/notifications/policy/huddle-policy.js";
import type { EventMeta, HuddlesEvent } from "../../../../src/platform/contract/generated/avro-types.js";

const NOW = 1_000_000;
const MAX_AGE_MS = 60_000;
const meta = (actorId: string, occurredAt = NOW): EventMeta => ({ eventId: "e", occurredAt, correlationId: "h1", causationId: null, actorId, workspaceId: "w1" });
const at = { partition: 1, offset: 7 };
const nameOf = (userId: string) => (userId === "alice" ? "Alice" : userId);

const created = (conversationId: string | null, title: string | null): HuddlesEvent => ({ type: "HuddleCreated", data: { meta: meta("alice"), huddleId: "h1", createdBy: "alice", conversationId, title } });
const invited = (actorId: string, userIds: string[], occurredAt = NOW): HuddlesEvent => ({ type: "HuddleParticipantsInvited", data: { meta: meta(actorId, occurredAt), huddleId: "h1", userIds } });
const huddle: InvitingHuddle = { conversationId: "c1", title: "Standup" };

describe("the notifications of a huddle", () => {
  it("follows a huddle from its creation", () => {
    expect(huddleStep(undefined, created("c1", "Standup"), at, NOW, MAX_AGE_MS, nameOf)).toEqual({ huddle, notifications: [] });
  });

  it("invites each invitee with a high-priority huddle_invite naming the inviter, collapsed per huddle, with an id per invitation", () => {
    const step = huddleStep(huddle, invited("alice", ["bob", "carol", "bob"]), at, NOW, MAX_AGE_MS, nameOf);
    expect(step.huddle).toBe(huddle);
    expect(step.notifications.map((n) => [n.userId, n.notificationId])).toEqual([
      ["bob", "huddle:h1:invite:bob:1.7"],
      ["carol", "huddle:h1:invite:carol:1.7"],
    ]);
    expect(step.notifications[0]).toEqual({
      userId: "bob",
      notificationId: "huddle:h1:invite:bob:1.7",
      category: "huddle_invite",
      title: "Alice invited you to a huddle",
      body: "Standup",
      data: { huddleId: "h1", conversationId: "c1" },
      conversationId: "c1",
      messageId: null,
      callId: null,
      huddleId: "h1",
      priority: "high",
      collapseKey: "huddle:h1",
    });
  });

  it("says what to do when the huddle has no title, and leaves the conversation out of a standalone huddle's data", () => {
    const [notification] = huddleStep({ conversationId: null, title: null }, invited("dave", ["bob"]), at, NOW, MAX_AGE_MS, nameOf).notifications;
    expect(notification).toMatchObject({ title: "dave invited you to a huddle", body: "Tap to join", data: { huddleId: "h1" }, conversationId: null });
  });

  it("invites nobody to a huddle never seen to start, nor with an invitation older than the maximum age, nor the inviter", () => {
    expect(huddleStep(undefined, invited("alice", ["bob"]), at, NOW, MAX_AGE_MS, nameOf).notifications).toEqual([]);
    expect(huddleStep(huddle, invited("alice", ["bob"], NOW - MAX_AGE_MS - 1), at, NOW, MAX_AGE_MS, nameOf).notifications).toEqual([]);
    expect(huddleStep(huddle, invited("alice", ["alice"]), at, NOW, MAX_AGE_MS, nameOf).notifications).toEqual([]);
  });

  it("forgets the huddle when it ends, and keeps it through its other events", () => {
    const ended: HuddlesEvent = { type: "HuddleEnded", data: { meta: meta("alice"), huddleId: "h1", reason: "ended", durationMs: 10, endedBy: "alice" } };
    expect(huddleStep(huddle, ended, at, NOW, MAX_AGE_MS, nameOf)).toEqual({ huddle: undefined, notifications: [] });
    const left: HuddlesEvent = { type: "HuddleParticipantLeft", data: { meta: meta("bob"), huddleId: "h1", userId: "bob", reason: "left", emptyExpiresAt: null } };
    expect(huddleStep(huddle, left, at, NOW, MAX_AGE_MS, nameOf)).toEqual({ huddle, notifications: [] });
  });
});
