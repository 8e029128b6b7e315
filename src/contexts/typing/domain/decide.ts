import type { ExpireTyping, StartTyping, StopTyping } from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { TypingCommand } from "./commands.js";
import type { DecidedTypingEvent, TypingEvent } from "./events.js";
import { evolve, initialState, typistsOf, type TypingState } from "./state.js";

/** Configuration of the typing rules. */
export interface TypingOptions {
  /** An indicator disappears this long after its last start or renewal. */
  readonly timeoutMs: number;
}

/**
 * The typing aggregate of one conversation (key: conversationId). Membership is the gateway's
 * concern (only members join the conversation's channel); typing keeps no history.
 *
 * - start: `TypingStarted` with the deadline `issuedAt + timeoutMs`, every time: a renewal is a
 *   start too (readers tell them apart by whether the member was typing).
 * - stop: `TypingStopped` (`stopped`) when the member is typing; otherwise a no-op.
 * - expire (the timer, at `deadline`): `TypingStopped` (`expired`) for every member whose
 *   indicator ends at or before `deadline`, earliest first (then by user id). The named member
 *   is among them unless renewed since, in which case the command is a late timer and a no-op.
 *   Others due by then are stopped too: their own timer command would carry the same commandId
 *   (`timer:<conversationId>:ExpireTyping:<deadline>`) and be answered as a duplicate. A
 *   `deadline` after `issuedAt` has not passed: a no-op.
 */
export function typingDecider(options: TypingOptions): Decider<TypingCommand, TypingEvent, TypingState> {
  return {
    initialState,
    evolve,
    decide: (command, state) => decide(command, state, options),
  };
}

function decide(command: TypingCommand, state: TypingState, options: TypingOptions): DecidedTypingEvent[] {
  switch (command.type) {
    case "StartTyping":
      return start(command.data, options);
    case "StopTyping":
      return stop(command.data, state);
    case "ExpireTyping":
      return expire(command.data, state);
    default:
      return unreachable(command);
  }
}

function start(command: StartTyping, { timeoutMs }: TypingOptions): DecidedTypingEvent[] {
  const { conversationId, userId } = command;
  return [{ type: "TypingStarted", data: { conversationId, userId, expiresAt: command.meta.issuedAt + timeoutMs } }];
}

function stop(command: StopTyping, state: TypingState): DecidedTypingEvent[] {
  const { conversationId, userId } = command;
  if (own(typistsOf(state), userId) === undefined) return [];
  return [{ type: "TypingStopped", data: { conversationId, userId, reason: "stopped" } }];
}

function expire(command: ExpireTyping, state: TypingState): DecidedTypingEvent[] {
  const { conversationId, deadline } = command;
  if (deadline > command.meta.issuedAt) return [];
  return Object.entries(typistsOf(state))
    .filter(([, expiresAt]) => expiresAt <= deadline)
    .sort(([userA, a], [userB, b]) => a - b || (userA < userB ? -1 : userA > userB ? 1 : 0))
    .map(([userId]): DecidedTypingEvent => ({ type: "TypingStopped", data: { conversationId, userId, reason: "expired" } }));
}
