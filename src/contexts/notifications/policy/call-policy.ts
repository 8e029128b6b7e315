import type { CallType, CallsEvent } from "../../../platform/contract/generated/avro-types.js";
import type { RequestedNotification } from "./message-policy.js";

/** What the policy keeps of a live call: who placed it and who is still being rung. */
export interface RingingCall {
  readonly callerId: string;
  readonly callType: CallType;
  readonly conversationId: string | null;
  /** Callees rung who have not answered, declined or been timed out yet. */
  readonly ringing: readonly string[];
}

/** Where an event sits in its partition: makes the ids of what it asks for deterministic. */
export interface EventPosition {
  readonly partition: number;
  readonly offset: number;
}

/** A call's state after an event and the notifications the event calls for. */
export interface CallStep {
  /** undefined once the call is over (or for an event of a call the policy never saw start). */
  readonly call: RingingCall | undefined;
  readonly notifications: readonly RequestedNotification[];
}

/**
 * One call event through the policy (pure and total):
 * - `CallStarted` and `ParticipantsInvited`: an `incoming_call` (priority high) for each callee
 *   rung, unless the ringing is already over at `now` (a late replay rings nobody);
 * - `CallAnswered`, `ParticipantJoined`, `CallRejected` declined or busy: the callee stops
 *   ringing, without a notification;
 * - `CallRejected` `no_answer`: a `missed_call` for that callee (the call goes on for others);
 * - `CallEnded`: a `missed_call` for every callee still ringing (the caller hung up first, or
 *   nobody answered), and the call is forgotten.
 * Ids: `call:<callId>:incoming:<userId>:<partition>.<offset>` (a callee invited again is rung
 * again) and `call:<callId>:missed:<userId>`; collapse key per call, so the missed call replaces
 * the ringing one on the device.
 */
export function callStep(call: RingingCall | undefined, event: CallsEvent, position: EventPosition, now: number, nameOf: (userId: string) => string): CallStep {
  switch (event.type) {
    case "CallStarted": {
      const { callId, callerId, callType, conversationId, calleeIds, ringingExpiresAt } = event.data;
      const started: RingingCall = { callerId, callType, conversationId, ringing: unique(calleeIds) };
      return { call: started, notifications: ringingExpiresAt > now ? incoming(callId, started, started.ringing, position, nameOf) : [] };
    }
    case "ParticipantsInvited": {
      if (call === undefined) return { call, notifications: [] };
      const { callId, userIds, ringingExpiresAt } = event.data;
      const next = { ...call, ringing: unique([...call.ringing, ...userIds]) };
      const ringsNow = ringingExpiresAt === null || ringingExpiresAt > now;
      return { call: next, notifications: ringsNow ? incoming(callId, next, unique(userIds), position, nameOf) : [] };
    }
    case "CallAnswered":
    case "ParticipantJoined":
      return { call: call === undefined ? undefined : stopRinging(call, event.data.userId), notifications: [] };
    case "CallRejected": {
      if (call === undefined) return { call, notifications: [] };
      const { callId, userId, reason } = event.data;
      const missed = reason === "no_answer" && call.ringing.includes(userId) ? [missedCall(callId, call, userId, nameOf)] : [];
      return { call: stopRinging(call, userId), notifications: missed };
    }
    case "CallEnded": {
      if (call === undefined) return { call, notifications: [] };
      const { callId } = event.data;
      return { call: undefined, notifications: call.ringing.map((userId) => missedCall(callId, call, userId, nameOf)) };
    }
    default:
      return { call, notifications: [] };
  }
}

function stopRinging(call: RingingCall, userId: string): RingingCall {
  return call.ringing.includes(userId) ? { ...call, ringing: call.ringing.filter((id) => id !== userId) } : call;
}

function incoming(callId: string, call: RingingCall, callees: readonly string[], { partition, offset }: EventPosition, nameOf: (userId: string) => string): RequestedNotification[] {
  return callees
    .filter((userId) => userId !== call.callerId)
    .map((userId) => ({
      ...callNotification(callId, call, userId),
      notificationId: `call:${callId}:incoming:${userId}:${partition}.${offset}`,
      category: "incoming_call",
      title: `Incoming ${call.callType} call`,
      body: `${nameOf(call.callerId)} is calling you`,
      priority: "high",
    }));
}

function missedCall(callId: string, call: RingingCall, userId: string, nameOf: (userId: string) => string): RequestedNotification {
  return {
    ...callNotification(callId, call, userId),
    notificationId: `call:${callId}:missed:${userId}`,
    category: "missed_call",
    title: `Missed ${call.callType} call`,
    body: `You missed a call from ${nameOf(call.callerId)}`,
    priority: "normal",
  };
}

function callNotification(callId: string, call: RingingCall, userId: string): Omit<RequestedNotification, "notificationId" | "category" | "title" | "body" | "priority"> {
  return {
    userId,
    data: { callId, callerId: call.callerId, callType: call.callType, ...(call.conversationId === null ? {} : { conversationId: call.conversationId }) },
    conversationId: call.conversationId,
    messageId: null,
    callId,
    huddleId: null,
    collapseKey: `call:${callId}`,
  };
}

const unique = (ids: readonly string[]): string[] => [...new Set(ids)];
