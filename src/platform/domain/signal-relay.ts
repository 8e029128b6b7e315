import type { CommandMeta } from "../contract/generated/avro-types.js";
import { DomainError } from "./domain-error.js";

/**
 * WebRTC signaling (offer, answer, ICE candidate) is the same in every room where peers meet, a
 * call or a huddle: each room's aggregate decides the signals of its own topic
 * (`quikapp.signaling.*` for calls, `quikapp.huddlesignaling.*` for huddles), in its order, with
 * these rules. Only who is in the room differs, which the room's state answers.
 */

/** A room of WebRTC peers as its aggregate knows it now: a live call or huddle. */
export interface SignalRoom {
  /** The tenant of the room: a signal from another workspace finds no room. */
  readonly workspaceId: string;
  /** Whether `userId` may send signals in the room and receive them. */
  admits(userId: string): boolean;
}

/** How refusals name the room and who may signal in it (`call`, `the participants … of the call`). */
export interface SignalRoomWords {
  readonly room: string;
  readonly peers: string;
}

/**
 * The sender of a signal to `toUserId` in `room` (undefined: no such room, or it is over), when
 * it may go: both its sender (`meta.actorId`) and its recipient are admitted to the room.
 * Refusals: a room that does not exist in the actor's workspace or is over is `not_found`, a
 * signal to oneself `invalid`, a sender or recipient not admitted `not_a_participant`.
 */
export function signalSender(meta: CommandMeta, toUserId: string, room: SignalRoom | undefined, words: SignalRoomWords): string {
  if (room === undefined || room.workspaceId !== meta.workspaceId) throw new DomainError("not_found", `no such ${words.room}`);
  const fromUserId = meta.actorId;
  if (toUserId === fromUserId) throw new DomainError("invalid", `a signal goes to another party of the ${words.room}`);
  if (!room.admits(fromUserId) || !room.admits(toUserId)) throw new DomainError("not_a_participant", `signals go between ${words.peers}`);
  return fromUserId;
}

/**
 * A relayed signal's data: the command as sent (its room, recipient, SDP or candidate),
 * unchanged, without its `meta` and with its sender. Every relayed-signal event has exactly
 * its command's fields plus `fromUserId`.
 */
export function relayedSignal<Data extends { readonly meta: CommandMeta }>({ meta: _meta, ...signal }: Data, fromUserId: string): Omit<Data, "meta"> & { readonly fromUserId: string } {
  return { ...signal, fromUserId };
}
