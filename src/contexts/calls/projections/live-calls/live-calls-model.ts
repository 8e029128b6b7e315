import type { CallEndReason, CallRejectReason, CallType } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";

/**
 * The live-calls read model in Redis (`<p>` = topic prefix):
 * - `<p>calls:call:<callId>` string: the call as JSON ({@link LiveCallView}); kept
 *   {@link ENDED_CALL_TTL_MS} after its end, so that late signals and joins are told `not_found`.
 * - `<p>calls:user:<userId>` set: the live calls the user is in (joined: the caller from the
 *   start, a callee once answered; ringing does not count): a user in one other than the call at
 *   hand is busy.
 * - `<p>calls:live` set: the ids of the calls not ended (ringing or active): what
 *   `calls_active_total` and `/health` `active_calls` count.
 * - `<p>calls:recording` set: the ids of the live calls with a recording running
 *   (`calls_recording_active_total`).
 * - `<p>calls:checkpoint` hash: the projection's checkpoint, in the same MULTI/EXEC.
 *
 * What the projection pushes goes through Redis pub/sub, after the commit:
 * `<p>calls:to-user:<userId>` carries {@link UserPush}es to the user's sockets (on
 * `webrtc:lobby` or `user:{userId}`), `<p>calls:to-call:<callId>` {@link CallPush}es to the
 * sockets joined to `call:{callId}`.
 */
export const liveCallKeys = (prefix: string) => ({
  checkpoint: `${prefix}calls:checkpoint`,
  keyPrefix: `${prefix}calls:`,
  call: (callId: string) => `${prefix}calls:call:${callId}`,
  user: (userId: string) => `${prefix}calls:user:${userId}`,
  live: `${prefix}calls:live`,
  recording: `${prefix}calls:recording`,
  toUser: (userId: string) => `${prefix}calls:to-user:${userId}`,
  toCall: (callId: string) => `${prefix}calls:to-call:${callId}`,
});

/** How long an ended call stays in the read model. */
export const ENDED_CALL_TTL_MS = 60 * 60_000;

/** What a user is to a call, as the read model shows it. */
export type PartyStatus = "joined" | "ringing" | "left" | "rejected";

/** One call as gateways read it. */
export interface LiveCallView {
  readonly callId: string;
  readonly workspaceId: string;
  readonly callType: CallType;
  readonly callerId: string;
  readonly conversationId: string | null;
  readonly status: "ringing" | "active" | "ended";
  /** Everyone the call involved, by user id. */
  readonly parties: Readonly<Record<string, PartyStatus>>;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly answeredAt: number | null;
  readonly endReason: CallEndReason | null;
  readonly recordingId: string | null;
  /** When each party's part last changed; absent in views projected before it was kept (rebuild the projection to fill it). */
  readonly times?: Readonly<Record<string, PartyTimes>>;
  /** The running recording; absent in views projected before it was kept (then `recordingId` alone tells). */
  readonly recording?: CallRecordingView | null;
  /** When the call ended (epoch milliseconds); absent while live and in views projected before it was kept. */
  readonly endedAt?: number | null;
}

/** When a party's part in a call last changed, in epoch milliseconds (the events' times). */
export interface PartyTimes {
  /** When the call last rang them; null for the caller, whom it never rang. */
  readonly invitedAt: number | null;
  /** When they last came into the call (the caller: when it started). */
  readonly joinedAt: number | null;
  /** When they last left the call or stopped ringing (declined, busy, no answer); null while in it or ringing. */
  readonly leftAt: number | null;
  /** Why they stopped ringing, while that is their part. */
  readonly rejectReason: CallRejectReason | null;
}

/** The times of a party nothing is known of. */
export const NO_TIMES: PartyTimes = { invitedAt: null, joinedAt: null, leftAt: null, rejectReason: null };

/** When `userId`'s part in `call` last changed, if the view keeps it. */
export function timesOf(call: LiveCallView, userId: string): PartyTimes | undefined {
  return call.times !== undefined && Object.hasOwn(call.times, userId) ? call.times[userId] : undefined;
}

/** A call's running recording. */
export interface CallRecordingView {
  readonly recordingId: string;
  readonly startedBy: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
}

/** What `userId` is to `call`, or undefined when the call never involved them. */
export function partyOf(call: LiveCallView, userId: string): PartyStatus | undefined {
  return Object.hasOwn(call.parties, userId) ? call.parties[userId] : undefined;
}

/** A push to one user's sockets: on `webrtc:lobby` (`lobby`) or on `user:{userId}` (`user`), except the connection named. */
export interface UserPush {
  readonly userId: string;
  /** The call's: only the user's sockets of that workspace get it. */
  readonly workspaceId: string;
  readonly topic: "lobby" | "user";
  readonly event: string;
  readonly payload: Record<string, unknown>;
  /** The connection that must not get it (the device that answered, for `answered_elsewhere`). */
  readonly exceptConnectionId?: string;
}

/**
 * A signal for one user's sockets (see `signal-relay`): in a call, `webrtc:offer`,
 * `webrtc:answer`, `webrtc:ice-candidate` on `webrtc:lobby`, and `offer`, `answer`,
 * `ice_candidate` on `call:{callId}`; in a huddle, the `webrtc:` events on `huddle:{huddleId}`.
 */
export interface SignalPush {
  readonly userId: string;
  /** The room's: only the user's sockets of that workspace get it. */
  readonly workspaceId: string;
  readonly topic: "signal";
  readonly kind: SignalKind;
  /** The signal as sent, with its room (`callId` or `huddleId`) and its sender (`from`). */
  readonly payload: { readonly from: string } & Record<string, unknown>;
}

export type SignalKind = "offer" | "answer" | "ice-candidate";

/** What `<p>calls:to-user:<userId>` carries. */
export type ToUserMessage = UserPush | SignalPush;

/** A push to the sockets joined to `call:{callId}`. */
export interface CallPush {
  readonly callId: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

/** A call that ended after it was answered: what `calls_duration_seconds` observes. */
export interface AnsweredCallEnd {
  readonly callType: CallType;
  readonly durationMs: number;
}

/** What a batch announces once committed: the pushes, in record order, and the answered calls it ended. */
export interface LiveCallsOutcome {
  readonly userPushes: readonly UserPush[];
  readonly callPushes: readonly CallPush[];
  readonly answeredEnds: readonly AnsweredCallEnd[];
}

/** What a batch changed: the calls after it, the users' call memberships, and its pushes. */
export interface LiveCallsFold extends LiveCallsOutcome {
  readonly calls: ReadonlyMap<string, LiveCallView>;
  /** For each user whose membership changed, the calls entered (true) and left (false). */
  readonly memberships: ReadonlyMap<string, ReadonlyMap<string, boolean>>;
}

/** The user ids of the call's parties in `statuses`, sorted. */
export function partiesIn(call: LiveCallView, ...statuses: PartyStatus[]): string[] {
  return Object.entries(call.parties)
    .filter(([, status]) => statuses.includes(status))
    .map(([userId]) => userId)
    .sort();
}

/** Whether the call is live and `userId` a participant or a ringing callee of it. */
export function inCall(call: LiveCallView | undefined, userId: string): boolean {
  if (call === undefined || call.status === "ended") return false;
  const status = partyOf(call, userId);
  return status === "joined" || status === "ringing";
}

/** What an incoming call says to the callee's devices (`call:incoming`, `incoming_call`). */
export function incomingPayload(call: LiveCallView): Record<string, unknown> {
  const { callId, callerId, callType, conversationId } = call;
  return { callId, callerId, type: callType, conversationId, participants: partiesIn(call, "joined", "ringing") };
}

type CallRecord = Pick<ConsumedRecord, "fullName" | "value">;

/**
 * Folds call events into the calls they are about (pure): `calls` holds the stored view of every
 * call the records name (a missing one was never seen). An event about a call never seen, other
 * than its start, changes nothing (it was projected before the read model was cleared without
 * its start: impossible with a rebuild from the beginning). Each party's times follow the events'
 * `occurredAt` ({@link PartyTimes}); the running recording, with who started it and when, and the
 * time of the end are kept too. Each event is pushed to whom it concerns:
 * - started, invited: `call:incoming` (lobby) and `incoming_call` (user channel) to each callee rung;
 * - answered: `call:answered` to everyone in the call and ringing, and `call:ended`/`call_ended`
 *   (`answered_elsewhere`) to the answerer's other connections;
 * - rejected: `call:rejected` to the participants and to the callee's own devices;
 * - ended: `call:ended` and `call_ended` to every party the call involved (and, if it was
 *   answered, its type and duration in `answeredEnds`);
 * - joined, left, recording started and stopped: `participant_joined`, `participant_left`,
 *   `recording_started`, `recording_stopped` on `call:{callId}`.
 */
export function foldLiveCalls(stored: ReadonlyMap<string, LiveCallView>, records: readonly CallRecord[]): LiveCallsFold {
  const calls = new Map(stored);
  const memberships = new Map<string, Map<string, boolean>>();
  const userPushes: UserPush[] = [];
  const callPushes: CallPush[] = [];
  const answeredEnds: AnsweredCallEnd[] = [];
  const member = (userId: string, callId: string, entered: boolean) => {
    const changes = memberships.get(userId) ?? new Map<string, boolean>();
    memberships.set(userId, changes.set(callId, entered));
  };
  // Every event of a call carries the call's workspace: the aggregate refuses commands from others.
  let workspaceId = "";
  const toUsers = (userIds: readonly string[], topic: UserPush["topic"], event: string, payload: Record<string, unknown>, exceptConnectionId?: string) => {
    for (const userId of userIds) userPushes.push({ userId, workspaceId, topic, event, payload, ...(exceptConnectionId === undefined ? {} : { exceptConnectionId }) });
  };
  // fromEntries defines own properties: a user id such as __proto__ stays a plain key.
  const withParties = (call: LiveCallView, userIds: readonly string[], status: PartyStatus, at: number, rejectReason: CallRejectReason | null = null): LiveCallView => {
    const timed = (userId: string): PartyTimes => {
      const was = timesOf(call, userId) ?? NO_TIMES;
      switch (status) {
        case "ringing":
          return { ...was, invitedAt: at, leftAt: null, rejectReason: null };
        case "joined":
          // A CallAnswered and its ParticipantJoined both say so: the first one's time stays.
          return { ...was, joinedAt: partyOf(call, userId) === "joined" ? was.joinedAt : at, leftAt: null, rejectReason: null };
        case "left":
          return { ...was, leftAt: at, rejectReason: null };
        case "rejected":
          return { ...was, leftAt: at, rejectReason };
      }
    };
    return {
      ...call,
      parties: Object.fromEntries([...Object.entries(call.parties), ...userIds.map((userId) => [userId, status] as const)]),
      times: Object.fromEntries([...Object.entries(call.times ?? {}), ...userIds.map((userId) => [userId, timed(userId)] as const)]),
    };
  };

  for (const record of records) {
    const event = eventOf(record, "calls");
    if (event === undefined) continue;
    const { callId } = event.data;
    workspaceId = event.data.meta.workspaceId;
    if (event.type === "CallStarted") {
      if (calls.has(callId)) continue;
      const { callType, callerId, calleeIds, conversationId, meta } = event.data;
      const opened: LiveCallView = {
        callId,
        workspaceId: meta.workspaceId,
        callType,
        callerId,
        conversationId,
        status: "ringing",
        parties: {},
        startedAt: meta.occurredAt,
        answeredAt: null,
        endReason: null,
        recordingId: null,
        times: {},
        recording: null,
        endedAt: null,
      };
      const call = withParties(withParties(opened, calleeIds, "ringing", meta.occurredAt), [callerId], "joined", meta.occurredAt);
      calls.set(callId, call);
      member(callerId, callId, true);
      const incoming = incomingPayload(call);
      toUsers(calleeIds, "lobby", "call:incoming", incoming);
      toUsers(calleeIds, "user", "incoming_call", incoming);
      continue;
    }
    const before = calls.get(callId);
    if (before === undefined || before.status === "ended") continue;
    const at = event.data.meta.occurredAt;
    switch (event.type) {
      case "ParticipantsInvited": {
        const { userIds } = event.data;
        const call = withParties(before, userIds, "ringing", at);
        calls.set(callId, call);
        const incoming = incomingPayload(call);
        toUsers(userIds, "lobby", "call:incoming", incoming);
        toUsers(userIds, "user", "incoming_call", incoming);
        break;
      }
      case "CallAnswered": {
        const { userId, connectionId } = event.data;
        const call: LiveCallView = { ...withParties(before, [userId], "joined", at), status: "active", answeredAt: before.answeredAt ?? at };
        calls.set(callId, call);
        toUsers(partiesIn(call, "joined", "ringing"), "lobby", "call:answered", { callId, userId });
        if (connectionId !== null) {
          const elsewhere = { callId, reason: "answered_elsewhere", endedBy: userId, durationMs: 0 };
          toUsers([userId], "lobby", "call:ended", elsewhere, connectionId);
          toUsers([userId], "user", "call_ended", elsewhere, connectionId);
        }
        break;
      }
      case "ParticipantJoined": {
        const { userId } = event.data;
        calls.set(callId, withParties(before, [userId], "joined", at));
        member(userId, callId, true);
        callPushes.push({ callId, event: "participant_joined", payload: { callId, userId } });
        break;
      }
      case "ParticipantLeft": {
        const { userId } = event.data;
        calls.set(callId, withParties(before, [userId], "left", at));
        member(userId, callId, false);
        callPushes.push({ callId, event: "participant_left", payload: { callId, userId } });
        break;
      }
      case "CallRejected": {
        const { userId, reason } = event.data;
        const call = withParties(before, [userId], "rejected", at, reason);
        calls.set(callId, call);
        member(userId, callId, false);
        toUsers([...new Set([...partiesIn(call, "joined"), userId])], "lobby", "call:rejected", { callId, userId, reason });
        break;
      }
      case "RecordingStarted": {
        const { recordingId, startedBy } = event.data;
        calls.set(callId, { ...before, recordingId, recording: { recordingId, startedBy, startedAt: at } });
        callPushes.push({ callId, event: "recording_started", payload: { callId, recordingId, startedBy } });
        break;
      }
      case "RecordingStopped": {
        const { recordingId, stoppedBy, durationMs } = event.data;
        calls.set(callId, { ...before, recordingId: null, recording: null });
        callPushes.push({ callId, event: "recording_stopped", payload: { callId, recordingId, stoppedBy, durationMs } });
        break;
      }
      case "CallEnded": {
        const { reason, endedBy, durationMs } = event.data;
        calls.set(callId, { ...before, status: "ended", endReason: reason, endedAt: at });
        if (before.answeredAt !== null) answeredEnds.push({ callType: before.callType, durationMs });
        const everyone = Object.keys(before.parties).sort();
        for (const userId of everyone) member(userId, callId, false);
        const ended = { callId, reason, endedBy, durationMs };
        toUsers(everyone, "lobby", "call:ended", ended);
        toUsers(everyone, "user", "call_ended", ended);
        break;
      }
    }
  }
  return { calls, memberships, userPushes, callPushes, answeredEnds };
}
