import { randomUUID } from "node:crypto";
import type { CommandContext } from "../../../platform/contract/topics.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { signalSender, type SignalRoom, type SignalRoomWords } from "../../../platform/domain/signal-relay.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import type { SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { SignalKind } from "../projections/live-calls/live-calls-model.js";
import type { Signal } from "./call-payloads.js";

/** How the signals of one kind of room are sent: their context, the field naming the room, their command types, and the words of refusals. */
export interface SignalingOf {
  readonly context: Extract<CommandContext, "signaling" | "huddlesignaling">;
  /** The field of its commands that names the room (their Kafka key). */
  readonly roomField: "callId" | "huddleId";
  readonly commands: Readonly<Record<SignalKind, string>>;
  readonly words: SignalRoomWords;
}

/**
 * Sends `signal` from the user of `identity` into room `roomId`, as the read model shows the room
 * now (`room`: undefined when unknown or over), → `{}` once on the room's signaling commands
 * topic (key: the room's id). It is checked first by the very rules the room's aggregate applies
 * (`signalSender`: `not_found`, `invalid` to oneself, `not_a_participant`), so that a refused
 * signal gets its reply at once and reaches nobody; the aggregate checks again in the room's
 * order, without answering (a refusal there is a signal that raced a leave). It reaches the
 * recipient's sockets through the signal relay.
 */
export async function sendSignal(bus: CommandBus, signaling: SignalingOf, identity: SocketIdentity, roomId: string, room: SignalRoom | undefined, signal: Signal): Promise<Record<string, unknown>> {
  const meta = bus.meta(identity, randomUUID(), { expectReply: false });
  try {
    signalSender(meta, signal.to, room, signaling.words);
  } catch (error) {
    if (error instanceof DomainError) throw new ServiceError(error.code, error.message, { cause: error });
    throw error;
  }
  const { kind, to, ...content } = signal;
  // SendOffer, SendAnswer, SendIceCandidate and their huddles' twins: the room, the recipient, the content.
  const command = { meta, [signaling.roomField]: roomId, toUserId: to, ...content };
  await bus.dispatch(signaling.context, signaling.commands[kind], roomId, command);
  return {};
}
