import type { SendAnswer, SendIceCandidate, SendOffer, SignalingCommand, SignalingEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { CallState } from "./state.js";

/** A signal a user's device sends to another party of a call (sender: `meta.actorId`). */
export type SignalCommand = SignalingCommand;

/** A signal relayed: on the ephemeral signaling topic, what the recipient's devices are sent. */
export type SignalEvent = SignalingEvent;

/**
 * Whether `userId` may exchange signals in the call: a participant, or a callee still ringing
 * (who may receive an offer before answering, and answer it with the same connection).
 */
function signals(state: CallState, userId: string): boolean {
  if (state.status !== "ringing" && state.status !== "active") return false;
  const status = own(state.parties, userId)?.status;
  return status === "joined" || status === "ringing";
}

/**
 * Relays a WebRTC signal (offer, answer, ICE candidate) of a live call, unchanged, when both its
 * sender and its recipient are in the call (joined, or ringing); the gateway checks the same on
 * the read model before sending, so this refusal reaches only a signal that raced a change of the
 * call. Refusals: a call that does not exist in the actor's workspace or has ended is `not_found`,
 * a sender or recipient not in it `not_a_participant`, a signal to oneself `invalid`. Signals
 * change nothing in the call.
 */
export function relay(command: SignalCommand, state: CallState): DecidedEvent<SignalEvent>[] {
  const { meta, toUserId } = command.data;
  if (state.status === "absent" || state.status === "ended" || state.workspaceId !== meta.workspaceId) throw new DomainError("not_found", "no such call");
  const fromUserId = meta.actorId;
  if (toUserId === fromUserId) throw new DomainError("invalid", "a signal goes to another party of the call");
  if (!signals(state, fromUserId) || !signals(state, toUserId)) {
    throw new DomainError("not_a_participant", "signals go between the participants and ringing callees of the call");
  }
  return [relayed(command, fromUserId)];
}

function relayed(command: SignalCommand, fromUserId: string): DecidedEvent<SignalEvent> {
  switch (command.type) {
    case "SendOffer":
      return { type: "OfferRelayed", data: { ...route(command.data, fromUserId), sdp: command.data.sdp } };
    case "SendAnswer":
      return { type: "AnswerRelayed", data: { ...route(command.data, fromUserId), sdp: command.data.sdp } };
    case "SendIceCandidate": {
      const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = command.data;
      return { type: "IceCandidateRelayed", data: { ...route(command.data, fromUserId), candidate, sdpMid, sdpMLineIndex, usernameFragment } };
    }
  }
}

function route({ callId, toUserId }: SendOffer | SendAnswer | SendIceCandidate, fromUserId: string) {
  return { callId, fromUserId, toUserId };
}
