import type { SignalingCommand, SignalingEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import { relayedSignal, signalSender, type SignalRoom, type SignalRoomWords } from "../../../platform/domain/signal-relay.js";
import type { CallState } from "./state.js";

/** A signal a user's device sends to another party of a call (sender: `meta.actorId`). */
export type SignalCommand = SignalingCommand;

/** A signal relayed: on the ephemeral signaling topic, what the recipient's devices are sent. */
export type SignalEvent = SignalingEvent;

/**
 * A live call as a room of signals: its participants, and its callees still ringing (who may
 * receive an offer before answering, and answer it with the same connection).
 */
function callRoom(state: CallState): SignalRoom | undefined {
  if (state.status !== "ringing" && state.status !== "active") return undefined;
  return {
    workspaceId: state.workspaceId,
    admits: (userId) => {
      const status = own(state.parties, userId)?.status;
      return status === "joined" || status === "ringing";
    },
  };
}

/** How refusals of a call's signals name the call and its peers (the gateway's too). */
export const CALL_WORDS: SignalRoomWords = { room: "call", peers: "the participants and ringing callees of the call" };

/**
 * Relays a WebRTC signal (offer, answer, ICE candidate) of a live call, unchanged, when both its
 * sender and its recipient are in the call (joined, or ringing); the gateway checks the same on
 * the read model before sending, so this refusal reaches only a signal that raced a change of the
 * call. Refusals (see `signalSender`): a call that does not exist in the actor's workspace or has
 * ended is `not_found`, a sender or recipient not in it `not_a_participant`, a signal to oneself
 * `invalid`. Signals change nothing in the call.
 */
export function relay(command: SignalCommand, state: CallState): DecidedEvent<SignalEvent>[] {
  const fromUserId = signalSender(command.data.meta, command.data.toUserId, callRoom(state), CALL_WORDS);
  switch (command.type) {
    case "SendOffer":
      return [{ type: "OfferRelayed", data: relayedSignal(command.data, fromUserId) }];
    case "SendAnswer":
      return [{ type: "AnswerRelayed", data: relayedSignal(command.data, fromUserId) }];
    case "SendIceCandidate":
      return [{ type: "IceCandidateRelayed", data: relayedSignal(command.data, fromUserId) }];
  }
}
