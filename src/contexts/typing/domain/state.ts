import { unreachable } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { TypingEvent } from "./events.js";

/** A conversation in which nobody is typing. */
export interface QuietConversation {
  readonly status: "quiet";
}

/** A conversation in which at least one member is typing. */
export interface TypingConversation {
  readonly status: "typing";
  /** The workspace of the command that started the current typing; the timer's commands carry it. */
  readonly workspaceId: string;
  /** Deadline of each typing member's indicator (epoch milliseconds), by user id; never empty. */
  readonly typists: Readonly<Record<string, number>>;
}

/** Who is typing in one conversation. Plain objects and numbers only: it survives the changelog's JSON round trip. */
export type TypingState = QuietConversation | TypingConversation;

export function initialState(): TypingState {
  return { status: "quiet" };
}

/** The typing members' deadlines by user id (none while quiet). */
export function typistsOf(state: TypingState): Readonly<Record<string, number>> {
  return state.status === "typing" ? state.typists : {};
}

/** The earliest indicator deadline and whose it is (the smallest user id among ties), or undefined while quiet. */
export function nextExpiry(state: TypingState): { readonly userId: string; readonly at: number } | undefined {
  let next: { userId: string; at: number } | undefined;
  for (const [userId, at] of Object.entries(typistsOf(state))) {
    if (next === undefined || at < next.at || (at === next.at && userId < next.userId)) next = { userId, at };
  }
  return next;
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: TypingState, event: TypingEvent): TypingState {
  switch (event.type) {
    case "TypingStarted": {
      const { data } = event;
      const workspaceId = state.status === "typing" ? state.workspaceId : data.meta.workspaceId;
      return { status: "typing", workspaceId, typists: { ...typistsOf(state), [data.userId]: data.expiresAt } };
    }
    case "TypingStopped": {
      if (state.status !== "typing" || own(state.typists, event.data.userId) === undefined) return state;
      const { [event.data.userId]: _stopped, ...typists } = state.typists;
      return Object.keys(typists).length === 0 ? { status: "quiet" } : { ...state, typists };
    }
    default:
      return unreachable(event);
  }
}
