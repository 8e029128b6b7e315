import type {
  CommandMeta,
  CreateHuddle,
  ExpireEmptyHuddle,
  HuddleEndReason,
  InviteToHuddle,
  JoinHuddle,
  LeaveHuddle,
} from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type DecidedEvent, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { HuddleCommand } from "./commands.js";
import type { DecidedHuddleEvent, HuddleEvent } from "./events.js";
import { relayInHuddle, type HuddleSignalCommand, type HuddleSignalEvent } from "./signals.js";
import { evolve, initialState, participantsOf, type EndedHuddle, type HuddleParticipant, type HuddleState, type LiveHuddle } from "./state.js";

/** Configuration of the huddle rules. */
export interface HuddleOptions {
  /** At most this many participants at once (`HUDDLE_MAX_PARTICIPANTS`): a mesh of peer connections goes no further. */
  readonly maxParticipants: number;
  /** An empty huddle ends this long after its last participant left (`HUDDLE_EMPTY_TIMEOUT_MS`); 0: at once. */
  readonly emptyTimeoutMs: number;
}

/** The actor ids of the service's own policies and timers (`system:presence`, `system:timer`). */
const SYSTEM_ACTOR = "system:";

/**
 * The huddle aggregate (key: huddleId): `live → ended`. The actor is `meta.actorId`.
 *
 * What the gateway (or the policy issuing the command) decides before a command gets here,
 * because the huddle alone cannot know it:
 * - Conversation membership: creating a huddle in a conversation is for its members, and a join
 *   says in `memberOfConversation` whether the gateway found the user a member of the huddle's
 *   conversation. The huddle records the conversation and trusts both.
 * - One live huddle per conversation: the gateway looks for one in the read model before
 *   creating another; each huddle id is an aggregate of its own.
 * - Connections: a join and a leave name the connection they come from; a `connection_lost`
 *   leave comes from the presence policy when presence expires that connection, and is trusted
 *   as it is (clients only ever send `left`).
 *
 * Rules:
 * - create: in a conversation, or standalone with at least one invitee other than the creator
 *   (`invalid` otherwise). `HuddleCreated`, then `HuddleParticipantsInvited` (each invitee once,
 *   never the creator) and the creator's `HuddleParticipantJoined`: the creator is in it at once,
 *   from the connection given (null over REST). Creating it again is a no-op for its creator (a
 *   late redelivery), else `conflict`.
 * - join: the creator, the invitees and, in a conversation's huddle, its members may join;
 *   anyone else is `not_a_member`. At most `maxParticipants` at once: one more is `huddle_full`.
 *   A participant joining again from the same connection, or without one (REST), is a no-op;
 *   from another connection (a second device, a reconnect before presence expired the old
 *   connection) the new one **takes over**: `HuddleParticipantLeft` (`moved`) then
 *   `HuddleParticipantJoined` with the new connection and arrival state, so the others set up a
 *   peer connection with the new device and drop the old one. A user is in a huddle once.
 * - leave: `left` is the actor's own; `connection_lost` names a participant and the connection
 *   that was lost (required); `removed` takes a participant out, by the creator or a `system:`
 *   actor (`forbidden` for anyone else); `moved` is never asked for (`invalid`). A leave naming a
 *   connection applies only while the participant is on it (a lost or left old connection does
 *   not remove them from the new one); leaving what one is not in is a no-op. A participant's
 *   media and hand go with them.
 * - empty: when the last participant leaves, the huddle ends (`empty`, `endedBy` null) right
 *   after, with an empty timeout of 0; above 0, the `HuddleParticipantLeft` carries the deadline
 *   and the processor's timer issues `ExpireEmptyHuddle` at it, which ends the huddle if nobody
 *   joined since.
 * - invite: a participant invites more users; those already invited, the creator and those in
 *   the huddle are left out; nobody new is a no-op.
 * - toggles: a participant sets their audio, video, screen share or hand to the state the
 *   command carries (the same state again is a no-op). One screen is shared at a time: a second
 *   sharer **takes over**, the first one's share stops first (`ScreenShareToggled` false, then
 *   true), so no reader ever sees two sharers.
 * - end: by its creator only (`forbidden` for its invitees and participants, `not_a_member` for
 *   anyone else, as for `removed`), in it or not: `HuddleEnded` (`ended`),
 *   which ends every participation.
 *
 * Refusals: a huddle that does not exist in the actor's workspace is `not_found`; acting in one
 * without being in it is `not_a_participant` (toggles, invite); what an ended huddle can no longer
 * do is a `conflict` (join, invite, toggles), what is done already a no-op (leave, end, create
 * again). Commands the runtime redelivers with the same id get the remembered outcome; beyond
 * its window, the rules above make a repeat a no-op.
 *
 * Signals (offer, answer, ICE candidate; `quikapp.huddlesignaling.*`, same key) are decided by
 * the huddle they belong to: relayed as they are between two of its participants
 * ({@link relayInHuddle}, the calls' rules).
 */
export function huddleDecider(options: HuddleOptions): Decider<HuddleCommand | HuddleSignalCommand, HuddleEvent | HuddleSignalEvent, HuddleState> {
  return {
    initialState,
    evolve,
    decide: (command, state) => decide(command, state, options),
  };
}

function decide(command: HuddleCommand | HuddleSignalCommand, state: HuddleState, options: HuddleOptions): (DecidedHuddleEvent | DecidedEvent<HuddleSignalEvent>)[] {
  switch (command.type) {
    case "SendHuddleOffer":
    case "SendHuddleAnswer":
    case "SendHuddleIceCandidate":
      return relayInHuddle(command, state);
    case "CreateHuddle":
      return create(command.data, state);
    case "JoinHuddle":
      return join(command.data, state, options);
    case "LeaveHuddle":
      return leave(command.data, state, options);
    case "InviteToHuddle":
      return invite(command.data, state);
    case "EndHuddle":
      return end(command.data.meta, state);
    case "ToggleAudio": {
      const { huddleId, muted } = command.data;
      return toggle(command.data.meta, state, (p) => p.audio === !muted, (userId) => ({ type: "AudioToggled", data: { huddleId, userId, muted } }));
    }
    case "ToggleVideo": {
      const { huddleId, videoEnabled } = command.data;
      return toggle(command.data.meta, state, (p) => p.video === videoEnabled, (userId) => ({ type: "VideoToggled", data: { huddleId, userId, videoEnabled } }));
    }
    case "RaiseHand": {
      const { huddleId, raised } = command.data;
      return toggle(command.data.meta, state, (p) => p.handRaised === raised, (userId) => ({ type: "HandRaised", data: { huddleId, userId, raised } }));
    }
    case "ToggleScreenShare": {
      const { huddleId, sharing } = command.data;
      return toggle(command.data.meta, state, (p) => p.screen === sharing, (userId, huddle) => {
        const shared = (sharer: string, on: boolean): DecidedHuddleEvent => ({ type: "ScreenShareToggled", data: { huddleId, userId: sharer, sharing: on } });
        const current = sharing ? participantsOf(huddle).filter((p) => p.screen && p.userId !== userId) : [];
        return [...current.map((p) => shared(p.userId, false)), shared(userId, sharing)];
      });
    }
    case "ExpireEmptyHuddle":
      return expireEmpty(command.data, state);
    default:
      return unreachable(command);
  }
}

function create(command: CreateHuddle, state: HuddleState): DecidedHuddleEvent[] {
  const { huddleId, conversationId, title, meta } = command;
  const createdBy = meta.actorId;
  if (state.status !== "absent") {
    if (state.workspaceId === meta.workspaceId && state.createdBy === createdBy) return [];
    throw new DomainError("conflict", "the huddle already exists");
  }
  if (huddleId === "") throw new DomainError("invalid", "a huddle needs an id");
  if (conversationId === "") throw new DomainError("invalid", "a conversation id may not be empty");
  const inviteeIds = newInvitees(command.inviteeIds, (userId) => userId !== createdBy);
  if (conversationId === null && inviteeIds.length === 0) throw new DomainError("invalid", "a huddle without a conversation needs someone to invite");
  return [
    { type: "HuddleCreated", data: { huddleId, createdBy, conversationId, title } },
    ...invited(huddleId, inviteeIds),
    joined(huddleId, createdBy, command),
  ];
}

function join(command: JoinHuddle, state: HuddleState, { maxParticipants }: HuddleOptions): DecidedHuddleEvent[] {
  const huddle = live(command.meta, state);
  const userId = command.meta.actorId;
  const { huddleId } = huddle;
  const participant = own(huddle.participants, userId);
  if (participant !== undefined) {
    if (command.connectionId === null || command.connectionId === participant.connectionId) return [];
    return [left(huddleId, userId, "moved", null), joined(huddleId, userId, command)];
  }
  if (!mayJoin(huddle, userId, command.memberOfConversation)) throw new DomainError("not_a_member", "only the huddle's invitees and its conversation's members may join it");
  if (Object.keys(huddle.participants).length >= maxParticipants) throw new DomainError("huddle_full", `the huddle holds its ${maxParticipants} participants`);
  return [joined(huddleId, userId, command)];
}

function leave(command: LeaveHuddle, state: HuddleState, { emptyTimeoutMs }: HuddleOptions): DecidedHuddleEvent[] {
  const { meta, reason, connectionId } = command;
  const actorId = meta.actorId;
  const userId = command.userId ?? actorId;
  if (reason === "moved") throw new DomainError("invalid", "moving to another connection is decided by a join from it");
  if (reason === "left" && userId !== actorId) throw new DomainError("invalid", "a participant leaves by themselves; others are removed");
  if (reason === "connection_lost" && connectionId === null) throw new DomainError("invalid", "a lost connection is named");
  const huddle = known(meta, state);
  if (reason === "removed" && actorId !== huddle.createdBy && !actorId.startsWith(SYSTEM_ACTOR)) {
    throw refusal(huddle, actorId, "only the huddle's creator removes participants");
  }
  if (huddle.status === "ended") return [];
  const participant = own(huddle.participants, userId);
  if (participant === undefined || (connectionId !== null && connectionId !== participant.connectionId)) return [];
  const othersIn = Object.keys(huddle.participants).some((other) => other !== userId);
  const at = meta.issuedAt;
  if (othersIn) return [left(huddle.huddleId, userId, reason, null)];
  if (emptyTimeoutMs > 0) return [left(huddle.huddleId, userId, reason, at + emptyTimeoutMs)];
  return [left(huddle.huddleId, userId, reason, null), ended(huddle, "empty", null, at)];
}

function invite(command: InviteToHuddle, state: HuddleState): DecidedHuddleEvent[] {
  const huddle = live(command.meta, state);
  participant(huddle, command.meta.actorId);
  const userIds = newInvitees(command.userIds, (userId) => userId !== huddle.createdBy && !Object.hasOwn(huddle.invited, userId) && !Object.hasOwn(huddle.participants, userId));
  return invited(huddle.huddleId, userIds);
}

function end(meta: CommandMeta, state: HuddleState): DecidedHuddleEvent[] {
  const huddle = known(meta, state);
  if (meta.actorId !== huddle.createdBy) throw refusal(huddle, meta.actorId, "only the huddle's creator ends it for everybody; leave it instead");
  if (huddle.status === "ended") return [];
  return [ended(huddle, "ended", meta.actorId, meta.issuedAt)];
}

/**
 * A participant's toggle: nothing when `already` holds for them, else the events `change` makes
 * for them in the huddle.
 */
function toggle(
  meta: CommandMeta,
  state: HuddleState,
  already: (participant: HuddleParticipant) => boolean,
  change: (userId: string, huddle: LiveHuddle) => DecidedHuddleEvent | DecidedHuddleEvent[],
): DecidedHuddleEvent[] {
  const huddle = live(meta, state);
  const actor = participant(huddle, meta.actorId);
  return already(actor) ? [] : [change(actor.userId, huddle)].flat();
}

function expireEmpty(command: ExpireEmptyHuddle, state: HuddleState): DecidedHuddleEvent[] {
  const { deadline, meta } = command;
  if (state.status !== "live" || state.emptyUntil !== deadline || deadline > meta.issuedAt) return [];
  if (Object.keys(state.participants).length > 0) return [];
  return [ended(state, "empty", null, meta.issuedAt)];
}

// ---- who acts

/** The huddle, ended or not, when it exists in the actor's workspace. */
function known(meta: CommandMeta, state: HuddleState): LiveHuddle | EndedHuddle {
  if (state.status === "absent" || state.workspaceId !== meta.workspaceId) throw new DomainError("not_found", "no such huddle");
  return state;
}

/** As {@link known}, for what an ended huddle can no longer do. */
function live(meta: CommandMeta, state: HuddleState): LiveHuddle {
  const huddle = known(meta, state);
  if (huddle.status === "ended") throw new DomainError("conflict", "the huddle has ended");
  return huddle;
}

/** The actor as a participant of the huddle, or `not_a_participant`. */
function participant(huddle: LiveHuddle, userId: string): HuddleParticipant {
  const found = own(huddle.participants, userId);
  if (found === undefined) throw new DomainError("not_a_participant", "only the huddle's participants may do this: join it first");
  return found;
}

/** What a creator's prerogative answers anyone else: `forbidden` to those the huddle involves (`message`), `not_a_member` to strangers. */
function refusal(huddle: LiveHuddle | EndedHuddle, userId: string, message: string): DomainError {
  const involved = Object.hasOwn(huddle.invited, userId) || (huddle.status === "live" && Object.hasOwn(huddle.participants, userId));
  return involved ? new DomainError("forbidden", message) : new DomainError("not_a_member", "you are not part of this huddle");
}

/** Whether `userId` may come into the huddle: its creator, an invitee, or (the gateway says) a member of its conversation. */
function mayJoin(huddle: LiveHuddle, userId: string, memberOfConversation: boolean): boolean {
  return userId === huddle.createdBy || Object.hasOwn(huddle.invited, userId) || (huddle.conversationId !== null && memberOfConversation);
}

// ---- what follows

/** `userIds` once each, those `eligible`, in code-unit order. An empty id is `invalid`. */
function newInvitees(userIds: readonly string[], eligible: (userId: string) => boolean): string[] {
  if (userIds.some((userId) => userId === "")) throw new DomainError("invalid", "user ids may not be empty");
  return [...new Set(userIds)].filter(eligible).sort();
}

function invited(huddleId: string, userIds: readonly string[]): DecidedHuddleEvent[] {
  return userIds.length === 0 ? [] : [{ type: "HuddleParticipantsInvited", data: { huddleId, userIds: [...userIds] } }];
}

function joined(huddleId: string, userId: string, { connectionId, muted, videoEnabled }: Pick<JoinHuddle, "connectionId" | "muted" | "videoEnabled">): DecidedHuddleEvent {
  return { type: "HuddleParticipantJoined", data: { huddleId, userId, muted, videoEnabled, connectionId } };
}

function left(huddleId: string, userId: string, reason: LeaveHuddle["reason"], emptyExpiresAt: number | null): DecidedHuddleEvent {
  return { type: "HuddleParticipantLeft", data: { huddleId, userId, reason, emptyExpiresAt } };
}

function ended(huddle: LiveHuddle, reason: HuddleEndReason, endedBy: string | null, at: number): DecidedHuddleEvent {
  return { type: "HuddleEnded", data: { huddleId: huddle.huddleId, reason, durationMs: Math.max(0, at - huddle.createdAt), endedBy } };
}
