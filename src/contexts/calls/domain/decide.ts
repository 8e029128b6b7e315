import type {
  AnswerCall,
  AttachRecordingMedia,
  CallEndReason,
  CallRejectReason,
  CommandMeta,
  EndCall,
  ExpireCallDuration,
  ExpireRinging,
  InitiateCall,
  InviteToCall,
  RejectCall,
  StartRecording,
} from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type DecidedEvent, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { CallCommand } from "./commands.js";
import type { CallEvent, DecidedCallEvent } from "./events.js";
import { relay, type SignalCommand, type SignalEvent } from "./signals.js";
import { evolve, initialState, partiesWith, recordingOf, type CallParty, type CallState, type EndedCall, type LiveCall, type RecordingFacts } from "./state.js";

/** Configuration of the call rules. */
export interface CallOptions {
  /** Callees ring this long before they count as not answering (`CALL_RINGING_TIMEOUT_MS`). */
  readonly ringingTimeoutMs: number;
  /** An answered call ends this long after its first answer (`CALL_MAX_DURATION_MS`). */
  readonly maxDurationMs: number;
}

/**
 * The call aggregate (key: callId): `ringing → active → ended`. The actor is `meta.actorId`.
 *
 * What the gateway decides before a command gets here, because the call alone cannot know it:
 * - Who may be called: with a `conversationId`, the caller and every callee must be members of
 *   that conversation; without one, users of the caller's workspace. The call records the
 *   conversation and does not check it.
 * - Who is busy: the gateway looks the callees up in the active-calls read model and names those
 *   in another active call in `busyCalleeIds` (`busyUserIds` for an invite). A busy callee is
 *   **not rung** (one user is in one call at a time; group calls are meshes of peer connections):
 *   it gets a `CallRejected` (`busy`) right after `CallStarted` (or `ParticipantsInvited`), which
 *   tells the caller. The read model lags a little: a user who hung up a moment ago may be
 *   reported busy once; a busy user may still join an active call later (below).
 *
 * Rules:
 * - initiate: the caller is in the call; each callee other than the caller, once, rings until
 *   `issuedAt + ringingTimeoutMs` (`CallStarted` names those rung). No callee is `invalid`.
 *   Initiating an existing call again is a no-op for its caller (a late redelivery), else `conflict`.
 * - answer (by a callee still ringing, from one connection): `CallAnswered` with that connection,
 *   so that the callee's other devices stop ringing (`answered_elsewhere`), then
 *   `ParticipantJoined`. The first answer makes the call active and sets its maximum duration.
 *   In a group call the other callees go on ringing and may answer too. An answer from the
 *   connection that already answered is a no-op; from another connection of a user already in
 *   the call it is a `conflict`.
 * - join: a callee still ringing answers (without a connection); someone who left, declined, was
 *   busy or did not answer in time comes into an active call (`ParticipantJoined`). Joining a
 *   call one is in is a no-op; a ringing call can only be answered by a callee still ringing.
 * - reject (`declined` or `busy`; `no_answer` is the timer's): the callee stops ringing
 *   (`CallRejected`). A callee who hangs up (end) a call that rings for them rejects it too.
 * - the ringing timer: each callee whose ringing deadline passed gets `CallRejected` (`no_answer`).
 * - When nobody has answered yet and no callee is left ringing (a 1:1 call rejected by its callee;
 *   a group call whose last ringing callee declined, was busy or did not answer), the call ends
 *   after the last `CallRejected`: `rejected`, `busy` or `no_answer` after what refused that last
 *   callee, `endedBy` the user whose rejection ended it (null for callees the gateway found busy,
 *   and for the timer). In an active call, refusals only remove the callees.
 * - end: any participant ends the call for everybody: `cancelled` while ringing, `completed` once
 *   answered, or `failed` when the client says media could not be set up. A running recording
 *   stops first (`RecordingStopped`, `stoppedBy` null).
 * - leave: `ParticipantLeft`; when the last participant leaves, the call ends (`cancelled` while
 *   ringing: the caller gave up; `completed` once answered), `endedBy` null. A callee still ringing
 *   who leaves the call's channel keeps ringing: leaving is a no-op for those not in the call.
 * - invite: a participant rings more users (`ParticipantsInvited`, with their own ringing
 *   deadline); those already in the call or ringing are left as they are; busy ones are refused.
 * - recording: a participant starts one while the call is active, one at a time (the same
 *   recording again is a no-op, another one a `conflict`); a participant stops it.
 * - a recording's media (stored by the gateway before the command): the participant who started
 *   the recording attaches it once the recording has stopped, during the call or after its end
 *   (`RecordingUploaded`). While it runs that is a `conflict`; by anyone else `forbidden`; once
 *   attached, the same object again is a no-op and another one a `conflict` (media is attached
 *   once). Deleting it is the starter's too, once stopped (`RecordingDeleted`, naming the object
 *   to remove); a deleted recording is gone: deleting it again is a no-op, anything else
 *   `not_found`.
 * - the maximum-duration timer ends an active call (`max_duration`).
 *
 * Timers are commands that carry their deadline: a timer whose deadline has not passed by its
 * `issuedAt`, or no longer matches the call (a ringing timer after the answer, any timer after
 * the end), is a no-op, so each fires once. Commands the runtime redelivers with the same id get
 * the remembered outcome; beyond its window, a repeated command is a no-op here too (answer,
 * join, reject, end, leave, invite, recording of what already is).
 *
 * Refusals: a call that does not exist in the actor's workspace is `not_found`; a user it never
 * involved is `not_a_member`, as is one no longer in it who wants to act as a participant (end,
 * invite, recording); acting on an ended call is a `conflict` (answer, join, invite, record) or
 * a no-op (reject, end, leave, stop recording: what they want is done).
 *
 * Signals (offer, answer, ICE candidate; `quikapp.signaling.*`, same key) are decided by the
 * call they belong to: relayed as they are between two of its parties ({@link relay}).
 */
export function callDecider(options: CallOptions): Decider<CallCommand | SignalCommand, CallEvent | SignalEvent, CallState> {
  return {
    initialState,
    evolve,
    decide: (command, state) => decide(command, state, options),
  };
}

function decide(command: CallCommand | SignalCommand, state: CallState, options: CallOptions): (DecidedCallEvent | DecidedEvent<SignalEvent>)[] {
  switch (command.type) {
    case "SendOffer":
    case "SendAnswer":
    case "SendIceCandidate":
      return relay(command, state);
    case "InitiateCall":
      return initiate(command.data, state, options);
    case "AnswerCall":
      return answer(command.data, state, options);
    case "JoinCall":
      return join(command.data.meta, state, options);
    case "RejectCall":
      return reject(command.data, state);
    case "EndCall":
      return end(command.data, state);
    case "LeaveCall":
      return leave(command.data.meta, state);
    case "InviteToCall":
      return invite(command.data, state, options);
    case "StartRecording":
      return startRecording(command.data, state);
    case "StopRecording":
      return stopRecording(command.data.meta, state);
    case "AttachRecordingMedia":
      return attachMedia(command.data, state);
    case "DeleteRecording":
      return deleteRecording(command.data.meta, command.data.recordingId, state);
    case "ExpireRinging":
      return expireRinging(command.data, state);
    case "ExpireCallDuration":
      return expireDuration(command.data, state);
    default:
      return unreachable(command);
  }
}

function initiate(command: InitiateCall, state: CallState, { ringingTimeoutMs }: CallOptions): DecidedCallEvent[] {
  const { callId, callType, conversationId, meta } = command;
  const callerId = meta.actorId;
  if (state.status !== "absent") {
    if (state.workspaceId === meta.workspaceId && state.callerId === callerId) return [];
    throw new DomainError("conflict", "the call already exists");
  }
  if (callId === "") throw new DomainError("invalid", "a call needs an id");
  const { rung, busy } = ringable(command.calleeIds, command.busyCalleeIds, (userId) => userId !== callerId);
  if (rung.length + busy.length === 0) throw new DomainError("invalid", "a call needs someone to call other than the caller");
  const started: DecidedCallEvent = {
    type: "CallStarted",
    data: { callId, callType, callerId, calleeIds: rung, conversationId, ringingExpiresAt: meta.issuedAt + ringingTimeoutMs },
  };
  return [started, ...refusals(callId, busy, "busy", { answered: false, ringing: rung }, null)];
}

function answer(command: AnswerCall, state: CallState, options: CallOptions): DecidedCallEvent[] {
  const { call, userId, party } = liveParty(command.meta, state);
  if (party.status === "joined") {
    if (party.connectionId === command.connectionId) return [];
    throw new DomainError("conflict", "you are already in this call, on another device");
  }
  return admit(call, userId, party, command.connectionId, command.meta.issuedAt, options);
}

function join(meta: CommandMeta, state: CallState, options: CallOptions): DecidedCallEvent[] {
  const { call, userId, party } = liveParty(meta, state);
  if (party.status === "joined") return [];
  return admit(call, userId, party, null, meta.issuedAt, options);
}

/** A party not in the call comes in: a ringing callee answers (the first answer starts the call's duration); anyone else joins an active call. */
function admit(call: LiveCall, userId: string, party: CallParty, connectionId: string | null, at: number, { maxDurationMs }: CallOptions): DecidedCallEvent[] {
  const { callId } = call;
  const joined: DecidedCallEvent = { type: "ParticipantJoined", data: { callId, userId } };
  if (party.status === "ringing") {
    const maxDurationExpiresAt = call.status === "active" ? call.maxDurationExpiresAt : at + maxDurationMs;
    return [{ type: "CallAnswered", data: { callId, userId, connectionId, maxDurationExpiresAt } }, joined];
  }
  if (call.status === "ringing") throw new DomainError("conflict", "the call no longer rings for you");
  return [joined];
}

function reject(command: RejectCall, state: CallState): DecidedCallEvent[] {
  if (command.reason === "no_answer") throw new DomainError("invalid", "no_answer is decided by the ringing timeout; reject with declined or busy");
  const { call, userId, party } = anyParty(command.meta, state);
  if (call.status === "ended") return [];
  if (party.status === "joined") throw new DomainError("conflict", "you are in this call: leave or end it instead");
  if (party.status !== "ringing") return [];
  return refusalsIn(call, [userId], command.reason, userId);
}

function end(command: EndCall, state: CallState): DecidedCallEvent[] {
  const { call, userId, party } = anyParty(command.meta, state);
  if (call.status === "ended") return [];
  if (party.status === "ringing") return refusalsIn(call, [userId], "declined", userId);
  if (party.status !== "joined") throw new DomainError("not_a_member", "you are no longer in this call");
  const natural = naturalEnd(call);
  const { reason } = command;
  if (reason !== null && reason !== natural && reason !== "failed") {
    throw new DomainError("invalid", `a participant ends the call as ${natural} or failed, not ${reason}`);
  }
  return finish(call, reason ?? natural, userId, command.meta.issuedAt);
}

function leave(meta: CommandMeta, state: CallState): DecidedCallEvent[] {
  const { call, userId, party } = anyParty(meta, state);
  if (call.status === "ended" || party.status !== "joined") return [];
  const left: DecidedCallEvent = { type: "ParticipantLeft", data: { callId: call.callId, userId } };
  const othersIn = partiesWith(call, "joined").some((other) => other !== userId);
  return othersIn ? [left] : [left, ...finish(call, naturalEnd(call), null, meta.issuedAt)];
}

function invite(command: InviteToCall, state: CallState, { ringingTimeoutMs }: CallOptions): DecidedCallEvent[] {
  const { call, party } = liveParty(command.meta, state);
  if (party.status !== "joined") throw new DomainError("not_a_member", "only the call's participants may invite");
  const { rung, busy } = ringable(command.userIds, command.busyUserIds, (userId) => {
    const status = own(call.parties, userId)?.status;
    return status !== "joined" && status !== "ringing";
  });
  const { callId } = call;
  const invited: DecidedCallEvent[] =
    rung.length === 0 ? [] : [{ type: "ParticipantsInvited", data: { callId, userIds: rung, ringingExpiresAt: command.meta.issuedAt + ringingTimeoutMs } }];
  const progress = { answered: call.status === "active", ringing: [...partiesWith(call, "ringing"), ...rung] };
  return [...invited, ...refusals(callId, busy, "busy", progress, null)];
}

function startRecording(command: StartRecording, state: CallState): DecidedCallEvent[] {
  const { call, userId, party } = liveParty(command.meta, state);
  if (party.status !== "joined") throw new DomainError("not_a_member", "only the call's participants may record it");
  if (call.status !== "active") throw new DomainError("conflict", "a call is recorded once answered");
  const { recordingId } = command;
  if (recordingId === "") throw new DomainError("invalid", "a recording needs an id");
  if (call.recording !== null) {
    if (call.recording.recordingId === recordingId) return [];
    throw new DomainError("conflict", "the call is already being recorded");
  }
  return [{ type: "RecordingStarted", data: { callId: call.callId, recordingId, startedBy: userId } }];
}

function stopRecording(meta: CommandMeta, state: CallState): DecidedCallEvent[] {
  const { call, userId, party } = anyParty(meta, state);
  if (call.status === "ended") return [];
  if (party.status !== "joined") throw new DomainError("not_a_member", "only the call's participants may stop its recording");
  return recordingStop(call, userId, meta.issuedAt);
}

function attachMedia(command: AttachRecordingMedia, state: CallState): DecidedCallEvent[] {
  const { call, userId, recording } = ownRecording(command.meta, command.recordingId, state, "uploads its media");
  const { recordingId, objectKey, size, contentType } = command;
  if (objectKey === "" || contentType === "" || size < 0) throw new DomainError("invalid", "media needs an object key, a content type and a size");
  if (recording.status === "running") throw new DomainError("conflict", "stop the recording before uploading its media");
  if (recording.status === "uploaded") {
    if (recording.objectKey === objectKey) return [];
    throw new DomainError("conflict", "the recording's media is uploaded already");
  }
  return [{ type: "RecordingUploaded", data: { callId: call.callId, recordingId, uploadedBy: userId, objectKey, size, contentType } }];
}

function deleteRecording(meta: CommandMeta, recordingId: string, state: CallState): DecidedCallEvent[] {
  const { call } = anyParty(meta, state);
  if (recordingOf(call, recordingId)?.status === "deleted") return [];
  const { userId, recording } = ownRecording(meta, recordingId, state, "deletes it");
  if (recording.status === "running") throw new DomainError("conflict", "stop the recording before deleting it");
  return [{ type: "RecordingDeleted", data: { callId: call.callId, recordingId, deletedBy: userId, objectKey: recording.objectKey } }];
}

function expireRinging(command: ExpireRinging, state: CallState): DecidedCallEvent[] {
  const { deadline } = command;
  if (deadline > command.meta.issuedAt || (state.status !== "ringing" && state.status !== "active")) return [];
  const due = partiesWith(state, "ringing").filter((userId) => {
    const party = state.parties[userId];
    return party?.status === "ringing" && party.until !== null && party.until <= deadline;
  });
  return refusalsIn(state, due, "no_answer", null);
}

function expireDuration(command: ExpireCallDuration, state: CallState): DecidedCallEvent[] {
  const { deadline } = command;
  if (state.status !== "active" || deadline !== state.maxDurationExpiresAt || deadline > command.meta.issuedAt) return [];
  return finish(state, "max_duration", null, command.meta.issuedAt);
}

// ---- who acts

/** The call and the actor's part in it. */
interface Part<C> {
  readonly call: C;
  readonly userId: string;
  readonly party: CallParty;
}

/** The call, ended or not, when it exists in the actor's workspace and involved the actor. */
function anyParty(meta: CommandMeta, state: CallState): Part<LiveCall | EndedCall> {
  if (state.status === "absent" || state.workspaceId !== meta.workspaceId) throw new DomainError("not_found", "no such call");
  const userId = meta.actorId;
  const party = own(state.parties, userId);
  if (party === undefined) throw new DomainError("not_a_member", "only the call's participants and callees may act on it");
  return { call: state, userId, party };
}

/** As {@link anyParty}, for what an ended call can no longer do. */
function liveParty(meta: CommandMeta, state: CallState): Part<LiveCall> {
  const part = anyParty(meta, state);
  const { call } = part;
  if (call.status === "ended") throw new DomainError("conflict", "the call has ended");
  return { ...part, call };
}

/** A recording of the call that is not deleted, when the actor is the party who started it (`only the participant who started it ${does}`). */
function ownRecording(meta: CommandMeta, recordingId: string, state: CallState, does: string): Part<LiveCall | EndedCall> & { readonly recording: RecordingFacts } {
  const part = anyParty(meta, state);
  const recording = recordingOf(part.call, recordingId);
  if (recording === undefined || recording.status === "deleted") throw new DomainError("not_found", "no such recording");
  if (recording.startedBy !== part.userId) throw new DomainError("forbidden", `only the participant who started the recording ${does}`);
  return { ...part, recording };
}

// ---- what follows

/**
 * Splits `userIds` (once each, those `eligible`) into the users to ring and those the gateway
 * found busy (`busyIds`). An empty id is `invalid`.
 */
function ringable(userIds: readonly string[], busyIds: readonly string[], eligible: (userId: string) => boolean): { rung: string[]; busy: string[] } {
  if (userIds.some((userId) => userId === "")) throw new DomainError("invalid", "user ids may not be empty");
  const busySet = new Set(busyIds);
  const called = [...new Set(userIds)].filter(eligible);
  return { rung: called.filter((userId) => !busySet.has(userId)), busy: called.filter((userId) => busySet.has(userId)) };
}

/** The reason a call ends with when nobody answered and the last callee left ringing was refused for `reason`. */
const UNANSWERED_END: Readonly<Record<CallRejectReason, CallEndReason>> = { declined: "rejected", busy: "busy", no_answer: "no_answer" };

/**
 * `CallRejected` (`reason`) for each of `userIds`; then, when nobody has answered and none of
 * the callees `ringing` is left ringing, the call's end.
 */
function refusals(
  callId: string,
  userIds: readonly string[],
  reason: CallRejectReason,
  progress: { readonly answered: boolean; readonly ringing: readonly string[] },
  endedBy: string | null,
): DecidedCallEvent[] {
  const events = userIds.map((userId): DecidedCallEvent => ({ type: "CallRejected", data: { callId, userId, reason } }));
  if (userIds.length === 0 || progress.answered || progress.ringing.some((userId) => !userIds.includes(userId))) return events;
  return [...events, ended(callId, UNANSWERED_END[reason], 0, endedBy)];
}

/** {@link refusals} of callees ringing in `call`. */
function refusalsIn(call: LiveCall, userIds: readonly string[], reason: CallRejectReason, endedBy: string | null): DecidedCallEvent[] {
  return refusals(call.callId, userIds, reason, { answered: call.status === "active", ringing: partiesWith(call, "ringing") }, endedBy);
}

/** How a call ends when a participant hangs up or the last one leaves. */
function naturalEnd(call: LiveCall): CallEndReason {
  return call.status === "ringing" ? "cancelled" : "completed";
}

/** The running recording stopped (by `stoppedBy`; null: by the end of the call), if there is one. */
function recordingStop(call: LiveCall, stoppedBy: string | null, at: number): DecidedCallEvent[] {
  if (call.status !== "active" || call.recording === null) return [];
  const { recordingId, startedAt } = call.recording;
  return [{ type: "RecordingStopped", data: { callId: call.callId, recordingId, stoppedBy, durationMs: Math.max(0, at - startedAt) } }];
}

/** The end of a live call at `at`, its recording stopped first. */
function finish(call: LiveCall, reason: CallEndReason, endedBy: string | null, at: number): DecidedCallEvent[] {
  const durationMs = call.status === "active" ? Math.max(0, at - call.answeredAt) : 0;
  return [...recordingStop(call, null, at), ended(call.callId, reason, durationMs, endedBy)];
}

function ended(callId: string, reason: CallEndReason, durationMs: number, endedBy: string | null): DecidedCallEvent {
  return { type: "CallEnded", data: { callId, reason, durationMs, endedBy } };
}
