import type { HuddleEndReason } from "../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { HuddleEvent } from "./events.js";
import type { HuddleSignalEvent } from "./signals.js";

/** A user in the huddle now, with what they share. */
export interface HuddleParticipant {
  readonly userId: string;
  /** The connection they are in the huddle from; null when they joined over REST. */
  readonly connectionId: string | null;
  /** Microphone on. */
  readonly audio: boolean;
  /** Camera on. */
  readonly video: boolean;
  /** Sharing their screen (at most one participant at a time). */
  readonly screen: boolean;
  readonly handRaised: boolean;
  /** When they joined, from this connection (epoch milliseconds). */
  readonly joinedAt: number;
}

/** A huddle nobody has created (yet). */
export interface AbsentHuddle {
  readonly status: "absent";
}

/** What every created huddle knows. */
interface HuddleFacts {
  readonly huddleId: string;
  /** The tenant it was created in; commands from other workspaces are answered `not_found`, and its timer carries it. */
  readonly workspaceId: string;
  readonly createdBy: string;
  /** The conversation whose members may join it; null for a standalone huddle. */
  readonly conversationId: string | null;
  readonly title: string | null;
  /** When it was created (epoch milliseconds); its duration counts from it. */
  readonly createdAt: number;
  /** Everyone invited, by user id (besides the conversation's members). */
  readonly invited: Readonly<Record<string, true>>;
}

/** Open: participants come and go. */
export interface LiveHuddle extends HuddleFacts {
  readonly status: "live";
  /** Who is in it now, by user id. */
  readonly participants: Readonly<Record<string, HuddleParticipant>>;
  /** When it ends as empty unless someone joins before: set while nobody is in it (with an empty timeout above 0). */
  readonly emptyUntil: number | null;
}

/** Over for everybody; what it was is kept to tell those it involved from strangers. */
export interface EndedHuddle extends HuddleFacts {
  readonly status: "ended";
  readonly reason: HuddleEndReason;
}

/** One huddle. Plain objects, strings, numbers, booleans and null only: it survives the changelog's JSON round trip. */
export type HuddleState = AbsentHuddle | LiveHuddle | EndedHuddle;

export function initialState(): HuddleState {
  return { status: "absent" };
}

/** The participants of a live huddle, in user-id (code-unit) order. */
export function participantsOf(huddle: LiveHuddle): HuddleParticipant[] {
  return Object.values(huddle.participants).sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

/** The huddle's next deadline, if it has one: the end of its empty timeout. */
export function nextDeadline(state: HuddleState): number | undefined {
  return state.status === "live" && state.emptyUntil !== null ? state.emptyUntil : undefined;
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: HuddleState, event: HuddleEvent | HuddleSignalEvent): HuddleState {
  switch (event.type) {
    case "HuddleOfferRelayed":
    case "HuddleAnswerRelayed":
    case "HuddleIceCandidateRelayed":
      return state;
    case "HuddleCreated": {
      if (state.status !== "absent") return state;
      const { huddleId, createdBy, conversationId, title, meta } = event.data;
      return { status: "live", huddleId, workspaceId: meta.workspaceId, createdBy, conversationId, title, createdAt: meta.occurredAt, invited: {}, participants: {}, emptyUntil: null };
    }
    case "HuddleParticipantsInvited": {
      if (state.status !== "live") return state;
      // fromEntries defines own properties: a user id such as __proto__ stays a plain key.
      const invited = Object.fromEntries([...Object.keys(state.invited), ...event.data.userIds].map((userId) => [userId, true] as const));
      return { ...state, invited };
    }
    case "HuddleParticipantJoined": {
      const { userId, connectionId, muted, videoEnabled, meta } = event.data;
      const joined: HuddleParticipant = { userId, connectionId, audio: !muted, video: videoEnabled, screen: false, handRaised: false, joinedAt: meta.occurredAt };
      return withParticipant(state, userId, () => joined, { emptyUntil: null });
    }
    case "HuddleParticipantLeft":
      return withParticipant(state, event.data.userId, () => undefined, { emptyUntil: event.data.emptyExpiresAt });
    case "AudioToggled":
      return withParticipant(state, event.data.userId, (participant) => participant && { ...participant, audio: !event.data.muted });
    case "VideoToggled":
      return withParticipant(state, event.data.userId, (participant) => participant && { ...participant, video: event.data.videoEnabled });
    case "ScreenShareToggled":
      return withParticipant(state, event.data.userId, (participant) => participant && { ...participant, screen: event.data.sharing });
    case "HandRaised":
      return withParticipant(state, event.data.userId, (participant) => participant && { ...participant, handRaised: event.data.raised });
    case "HuddleEnded": {
      if (state.status !== "live") return state;
      const { huddleId, workspaceId, createdBy, conversationId, title, createdAt, invited } = state;
      return { status: "ended", huddleId, workspaceId, createdBy, conversationId, title, createdAt, invited, reason: event.data.reason };
    }
    default:
      return unreachable(event);
  }
}

/**
 * The live huddle with `userId` set to what `next` makes of their participation (undefined: not
 * in it), and `changes` applied; any other state as it is.
 */
function withParticipant(
  state: HuddleState,
  userId: string,
  next: (participant: HuddleParticipant | undefined) => HuddleParticipant | undefined,
  changes: Partial<Pick<LiveHuddle, "emptyUntil">> = {},
): HuddleState {
  if (state.status !== "live") return state;
  const updated = next(own(state.participants, userId));
  const others = Object.entries(state.participants).filter(([id]) => id !== userId);
  const participants = Object.fromEntries(updated === undefined ? others : [...others, [userId, updated] as const]);
  return { ...state, ...changes, participants };
}
