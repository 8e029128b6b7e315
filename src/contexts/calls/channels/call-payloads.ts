import type { CallRejectReason, CallType } from "../../../platform/contract/generated/avro-types.js";
import { absent, count, invalid, onTopic as onTopicId, optionalText, text } from "../../../platform/gateway/payload-fields.js";
import type { SignalKind } from "../projections/live-calls/live-calls-model.js";

/*
 * Reading the payloads of `webrtc:lobby` and `call:{callId}` pushes; each reader throws the
 * `invalid` ServiceError that names the field or the limit.
 */

/** The most users one call rings at once: calls are meshes of peer connections. */
export const MAX_CALLEES = 7;
/** The longest session description relayed, in characters. */
export const MAX_SDP = 32_768;
/** The longest ICE candidate line relayed, in characters. */
export const MAX_CANDIDATE = 1_024;
const MAX_ID = 128;

const CALL_TYPES: readonly CallType[] = ["audio", "video"];

/** `call:initiate` `{calleeId | calleeIds, type, conversationId?}`. */
export interface InitiatePayload {
  readonly calleeIds: readonly string[];
  readonly callType: CallType;
  readonly conversationId: string | null;
}

export function initiatePayload(payload: Record<string, unknown>): InitiatePayload {
  const calleeIds = callees(payload);
  const type = payload.type;
  if (typeof type !== "string" || !CALL_TYPES.includes(type as CallType)) throw invalid(`type must be one of ${CALL_TYPES.join(", ")}`);
  return { calleeIds, callType: type as CallType, conversationId: optionalText(payload, "conversationId", MAX_ID) };
}

/** `call:invite` `{callId, calleeId | calleeIds}`: the users to ring into the call, once each. */
export function invitePayload(payload: Record<string, unknown>): { readonly callId: string; readonly calleeIds: readonly string[] } {
  return { callId: callIdOf(payload), calleeIds: callees(payload) };
}

/**
 * A push on `call:{callId}` as the lobby's payload: its `callId` is the topic's call when
 * absent; naming another call is `invalid`.
 */
export function onTopic(payload: Record<string, unknown>, topicCallId: string): Record<string, unknown> {
  return onTopicId(payload, "callId", topicCallId);
}

function callees(payload: Record<string, unknown>): string[] {
  if (!absent(payload.calleeId) && !absent(payload.calleeIds)) throw invalid("give calleeId or calleeIds, not both");
  const ids: unknown[] = absent(payload.calleeIds) ? [text(payload, "calleeId", MAX_ID)] : listOf(payload.calleeIds);
  if (ids.length === 0) throw invalid("calleeIds must name at least one user");
  if (ids.some((id) => typeof id !== "string" || id === "" || id.length > MAX_ID)) throw invalid(`calleeIds must be user ids of 1 to ${MAX_ID} characters`);
  const unique = [...new Set(ids as string[])];
  if (unique.length > MAX_CALLEES) throw invalid(`a call rings at most ${MAX_CALLEES} users`);
  return unique;
}

function listOf(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw invalid("calleeIds must be a list of user ids");
  return value;
}

/** The `callId` of a push about one call. */
export function callIdOf(payload: Record<string, unknown>): string {
  const callId = text(payload, "callId", MAX_ID);
  if (callId === "") throw invalid("callId is required");
  return callId;
}

/** `call:reject` `{callId, reason?}`: `declined` (the default) or `busy`. */
export function rejectReason(payload: Record<string, unknown>): CallRejectReason {
  const reason = optionalText(payload, "reason", 32) ?? "declined";
  if (reason !== "declined" && reason !== "busy") throw invalid("reason must be declined or busy");
  return reason;
}

/** A signal as a client pushes it: for whom, and what. */
export type SignalPayload =
  | { readonly kind: "offer" | "answer"; readonly callId: string; readonly to: string; readonly sdp: string }
  | {
      readonly kind: "ice-candidate";
      readonly callId: string;
      readonly to: string;
      readonly candidate: string;
      readonly sdpMid: string | null;
      readonly sdpMLineIndex: number | null;
      readonly usernameFragment: string | null;
    };

/**
 * `webrtc:offer` / `webrtc:answer` `{callId, to, sdp}` and `webrtc:ice-candidate`
 * `{callId, to, candidate}`. `sdp` is the SDP text, or an `RTCSessionDescriptionInit`
 * (`{type, sdp}`) whose type matches the event; `candidate` is a candidate line (`candidate:…`,
 * or empty for the end of candidates) or an `RTCIceCandidateInit`
 * (`{candidate, sdpMid, sdpMLineIndex, usernameFragment}`), whose other fields may also sit
 * beside it in the payload.
 */
export function signalPayload(kind: SignalKind, payload: Record<string, unknown>): SignalPayload {
  const callId = callIdOf(payload);
  const to = text(payload, "to", MAX_ID);
  if (to === "") throw invalid("to is required");
  if (kind !== "ice-candidate") return { kind, callId, to, sdp: sdpOf(kind, payload.sdp) };
  const init = typeof payload.candidate === "object" && payload.candidate !== null && !Array.isArray(payload.candidate) ? (payload.candidate as Record<string, unknown>) : payload;
  const candidate = text(init, "candidate", MAX_CANDIDATE);
  if (candidate !== "" && !candidate.startsWith("candidate:")) throw invalid("candidate must be an ICE candidate line (candidate:…), or empty at the end of candidates");
  const sdpMLineIndex = absent(init.sdpMLineIndex) ? null : count(init, "sdpMLineIndex");
  return { kind, callId, to, candidate, sdpMid: optionalText(init, "sdpMid", 64), sdpMLineIndex, usernameFragment: optionalText(init, "usernameFragment", 256) };
}

function sdpOf(kind: "offer" | "answer", value: unknown): string {
  let sdp = value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const init = value as Record<string, unknown>;
    if (init.type !== kind) throw invalid(`sdp.type must be ${kind}`);
    sdp = init.sdp;
  }
  if (typeof sdp !== "string") throw invalid("sdp must be the session description's text, or {type, sdp}");
  if (sdp.length > MAX_SDP) throw invalid(`sdp must be at most ${MAX_SDP} characters`);
  if (!sdp.startsWith("v=0")) throw invalid("sdp is not a session description (it starts with v=0)");
  return sdp;
}
