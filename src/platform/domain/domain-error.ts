import type { ErrorCode } from "../errors/error-codes.js";

/**
 * The codes of the service's one error registry that a decider may reject with:
 *
 * - `not_found`: the aggregate does not exist (or belongs to another workspace: no leak).
 * - `not_a_member`: the actor is not part of the conversation, call or huddle.
 * - `not_a_participant`: a call's signal names a sender or recipient who is not in the call; the actor is not in the huddle.
 * - `huddle_full`: the huddle already holds as many participants as it may.
 * - `forbidden`: the actor is part of it but may not do this.
 * - `invalid`: the command contradicts a rule whatever the state (e.g. a direct conversation with three members).
 * - `conflict`: the command contradicts the current state (e.g. creating what already exists).
 * - `invalid_topic`: a topic named by the command cannot be one (empty, too long).
 * - `too_many_topics`: the connection already holds as many topics as it may.
 */
export type DomainErrorCode = Extract<ErrorCode, "not_found" | "not_a_member" | "not_a_participant" | "huddle_full" | "forbidden" | "invalid" | "conflict" | "invalid_topic" | "too_many_topics">;

/**
 * A command rejected by a decider. The processor answers `{ok: false, error: {code, message}}`,
 * emits no event, and answers a retry of the same command with the same rejection. The message
 * reaches the client: it explains the rule, never internals.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}
