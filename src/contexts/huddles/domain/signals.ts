import type { HuddlesignalingCommand, HuddlesignalingEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";
import { relayedSignal, signalSender, type SignalRoom, type SignalRoomWords } from "../../../platform/domain/signal-relay.js";
import type { HuddleState } from "./state.js";

/** A WebRTC signal a participant's device sends to another participant of a huddle (sender: `meta.actorId`). */
export type HuddleSignalCommand = HuddlesignalingCommand;

/** A signal relayed: on the huddles' ephemeral signaling topic, what the recipient's devices are sent. */
export type HuddleSignalEvent = HuddlesignalingEvent;

/** A live huddle as a room of signals: its participants, and nobody else (an invitee joins first). */
function huddleRoom(state: HuddleState): SignalRoom | undefined {
  if (state.status !== "live") return undefined;
  return { workspaceId: state.workspaceId, admits: (userId) => Object.hasOwn(state.participants, userId) };
}

/** How refusals of a huddle's signals name the huddle and its peers (the gateway's too). */
export const HUDDLE_WORDS: SignalRoomWords = { room: "huddle", peers: "the participants of the huddle" };

/**
 * Relays a WebRTC signal (offer, answer, ICE candidate) of a live huddle, unchanged, when both
 * its sender and its recipient are participants, by the calls' rules (`signalSender`): a huddle
 * that does not exist in the actor's workspace or has ended is `not_found`, a sender or recipient
 * not in it `not_a_participant`, a signal to oneself `invalid`. The gateway checks the same on the
 * read model before sending, so a refusal here reaches only a signal that raced a leave. Signals
 * change nothing in the huddle.
 */
export function relayInHuddle(command: HuddleSignalCommand, state: HuddleState): DecidedEvent<HuddleSignalEvent>[] {
  const fromUserId = signalSender(command.data.meta, command.data.toUserId, huddleRoom(state), HUDDLE_WORDS);
  switch (command.type) {
    case "SendHuddleOffer":
      return [{ type: "HuddleOfferRelayed", data: relayedSignal(command.data, fromUserId) }];
    case "SendHuddleAnswer":
      return [{ type: "HuddleAnswerRelayed", data: relayedSignal(command.data, fromUserId) }];
    case "SendHuddleIceCandidate":
      return [{ type: "HuddleIceCandidateRelayed", data: relayedSignal(command.data, fromUserId) }];
  }
}
