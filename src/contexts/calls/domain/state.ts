import type { CallEndReason, CallRejectReason } from "../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { CallEvent } from "./events.js";
import type { SignalEvent } from "./signals.js";

/** What one user is to a call. */
export type CallParty =
  /** Rung until `until` (epoch milliseconds; null: until they answer, decline or the call ends). */
  | { readonly status: "ringing"; readonly until: number | null }
  /** In the call: the caller from the start, a callee once answered or joined. `connectionId`: the connection that answered. */
  | { readonly status: "joined"; readonly connectionId: string | null }
  /** Was in the call and left it. */
  | { readonly status: "left" }
  /** Rung (or found busy) and did not come. */
  | { readonly status: "rejected"; readonly reason: CallRejectReason };

/** A call nobody has initiated (yet). */
export interface AbsentCall {
  readonly status: "absent";
}

/** What every initiated call knows. */
interface CallFacts {
  readonly callId: string;
  /** The tenant it was initiated in; commands from other workspaces are answered `not_found`, and its timers carry it. */
  readonly workspaceId: string;
  readonly callerId: string;
  /** Everyone the call ever involved, by user id: its caller, callees and participants. */
  readonly parties: Readonly<Record<string, CallParty>>;
  /** Every recording of the call, by recording id (absent in states written before recordings had media). */
  readonly recordings?: Readonly<Record<string, RecordingFacts>>;
}

/**
 * What the call knows of one of its recordings: who started it, and where it is in its life
 * (`running` → `stopped` → `uploaded`; `deleted` from `stopped` or `uploaded`). `objectKey`: where
 * its media is stored, once uploaded (kept after the delete, so that a repeated delete removes
 * the same object).
 */
export interface RecordingFacts {
  readonly startedBy: string;
  readonly status: "running" | "stopped" | "uploaded" | "deleted";
  readonly objectKey: string | null;
}

/** Initiated, nobody has answered: the caller waits, the callees ring. */
export interface RingingCall extends CallFacts {
  readonly status: "ringing";
}

/** Answered at least once: participants talk, and callees invited meanwhile may still ring. */
export interface ActiveCall extends CallFacts {
  readonly status: "active";
  /** When the first callee answered (epoch milliseconds); the call's duration counts from it. */
  readonly answeredAt: number;
  readonly maxDurationExpiresAt: number;
  readonly recording: CallRecording | null;
}

/** Over for everybody; its parties are kept to tell those it involved from strangers. */
export interface EndedCall extends CallFacts {
  readonly status: "ended";
  readonly reason: CallEndReason;
}

/** The running recording of an active call. */
export interface CallRecording {
  readonly recordingId: string;
  readonly startedBy: string;
  readonly startedAt: number;
}

/** One call. Plain objects, strings, numbers and null only: it survives the changelog's JSON round trip. */
export type CallState = AbsentCall | RingingCall | ActiveCall | EndedCall;

/** A call that is ringing or active. */
export type LiveCall = RingingCall | ActiveCall;

export function initialState(): CallState {
  return { status: "absent" };
}

/** The ids of the parties whose status is `status`, in code-unit order (the order events name them in). */
export function partiesWith(call: CallFacts, status: CallParty["status"]): string[] {
  return Object.entries(call.parties)
    .filter(([, party]) => party.status === status)
    .map(([userId]) => userId)
    .sort();
}

/** The call's next deadline, if it has one: the earliest callee ringing deadline, or the end of an active call's maximum duration (on a tie: the duration, which ends everything). */
export function nextDeadline(state: CallState): { readonly type: "ExpireRinging" | "ExpireCallDuration"; readonly at: number } | undefined {
  if (state.status !== "ringing" && state.status !== "active") return undefined;
  let ringing: number | undefined;
  for (const party of Object.values(state.parties)) {
    if (party.status === "ringing" && party.until !== null && (ringing === undefined || party.until < ringing)) ringing = party.until;
  }
  if (state.status === "active" && (ringing === undefined || state.maxDurationExpiresAt <= ringing)) {
    return { type: "ExpireCallDuration", at: state.maxDurationExpiresAt };
  }
  return ringing === undefined ? undefined : { type: "ExpireRinging", at: ringing };
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: CallState, event: CallEvent | SignalEvent): CallState {
  switch (event.type) {
    case "OfferRelayed":
    case "AnswerRelayed":
    case "IceCandidateRelayed":
      return state;
    case "CallStarted": {
      if (state.status !== "absent") return state;
      const { data } = event;
      const caller: [string, CallParty] = [data.callerId, { status: "joined", connectionId: null }];
      const callees = data.calleeIds.map((userId): [string, CallParty] => [userId, { status: "ringing", until: data.ringingExpiresAt }]);
      const parties = Object.fromEntries([caller, ...callees]);
      return { status: "ringing", callId: data.callId, workspaceId: data.meta.workspaceId, callerId: data.callerId, parties };
    }
    case "ParticipantsInvited": {
      const until = event.data.ringingExpiresAt;
      return withParties(state, event.data.userIds, () => ({ status: "ringing", until }));
    }
    case "CallAnswered": {
      const { data } = event;
      const answered = withParties(state, [data.userId], () => ({ status: "joined", connectionId: data.connectionId }));
      if (answered.status !== "ringing") return answered;
      return { ...answered, status: "active", answeredAt: data.meta.occurredAt, maxDurationExpiresAt: data.maxDurationExpiresAt, recording: null };
    }
    case "ParticipantJoined":
      // After a CallAnswered the party is joined already, with the connection that answered.
      return withParties(state, [event.data.userId], (party) => (party?.status === "joined" ? party : { status: "joined", connectionId: null }));
    case "ParticipantLeft":
      return withParties(state, [event.data.userId], () => ({ status: "left" }));
    case "CallRejected": {
      const { reason } = event.data;
      return withParties(state, [event.data.userId], () => ({ status: "rejected", reason }));
    }
    case "RecordingStarted": {
      if (state.status !== "active") return state;
      const { recordingId, startedBy, meta } = event.data;
      const recorded = withRecording(state, recordingId, () => ({ startedBy, status: "running", objectKey: null }));
      return { ...recorded, recording: { recordingId, startedBy, startedAt: meta.occurredAt } };
    }
    case "RecordingStopped": {
      if (state.status !== "active" || state.recording?.recordingId !== event.data.recordingId) return state;
      const stopped = withRecording(state, event.data.recordingId, (recording) => recording && { ...recording, status: "stopped" });
      return { ...stopped, recording: null };
    }
    case "RecordingUploaded":
      return withRecording(state, event.data.recordingId, (recording) => recording && { ...recording, status: "uploaded", objectKey: event.data.objectKey });
    case "RecordingDeleted":
      return withRecording(state, event.data.recordingId, (recording) => recording && { ...recording, status: "deleted" });
    case "CallEnded": {
      if (state.status !== "ringing" && state.status !== "active") return state;
      const { callId, workspaceId, callerId, parties, recordings } = state;
      return { status: "ended", callId, workspaceId, callerId, parties, ...(recordings === undefined ? {} : { recordings }), reason: event.data.reason };
    }
    default:
      return unreachable(event);
  }
}

/** The recording `recordingId` of `call`, if the call has one by that id. */
export function recordingOf(call: CallFacts, recordingId: string): RecordingFacts | undefined {
  return call.recordings === undefined ? undefined : own(call.recordings, recordingId);
}

/**
 * The call with its recording `recordingId` set to what `next` makes of it (of nothing, for a new
 * one); as it is when `next` makes nothing, or when the call never started.
 */
function withRecording<S extends CallState>(state: S, recordingId: string, next: (recording: RecordingFacts | undefined) => RecordingFacts | undefined): S {
  if (state.status === "absent") return state;
  const made = next(recordingOf(state, recordingId));
  if (made === undefined) return state;
  return { ...state, recordings: Object.fromEntries([...Object.entries(state.recordings ?? {}), [recordingId, made]]) };
}

/** The live call with each of `userIds` set to what `next` makes of its current part; any other state as it is. */
function withParties(state: CallState, userIds: readonly string[], next: (party: CallParty | undefined) => CallParty): CallState {
  if (state.status !== "ringing" && state.status !== "active") return state;
  // fromEntries defines own properties: a user id such as __proto__ stays a plain key.
  const parties = Object.fromEntries([...Object.entries(state.parties), ...userIds.map((userId) => [userId, next(own(state.parties, userId))] as const)]);
  return { ...state, parties };
}
