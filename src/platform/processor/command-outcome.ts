/**
 * What a processor answers for every command that names a `replyTo` node: published as JSON on
 * Redis pub/sub channel `reply:<replyTo>` after the command's transaction has committed.
 *
 * - `ok: true`: the command was accepted (possibly as an idempotent no-op); `result` is what the
 *   processor definition's `result` hook returned (`{}` without one).
 * - `ok: false`: rejected by the domain (a stable `code`, see `DomainErrorCode`), or `internal`
 *   when it could not be processed at all (it went to the dead-letter topic; the message never
 *   carries internals).
 *
 * A retried command (same `commandId`) is answered with the outcome of its first processing.
 * Delivery is at most once (pub/sub): a gateway that hears nothing retries the command, and the
 * retry is answered from the dedupe window.
 */
export type CommandOutcome =
  | { readonly commandId: string; readonly ok: true; readonly result: Readonly<Record<string, unknown>> }
  | { readonly commandId: string; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** The Redis pub/sub channel on which gateway node `nodeId` receives the outcomes of its commands. */
export function replyChannel(nodeId: string): string {
  return `reply:${nodeId}`;
}

/** The outcome of a command that could not be processed (undecodable, a bug in a decider, an invalid event). */
export function internalFailure(commandId: string): CommandOutcome {
  return { commandId, ok: false, error: { code: "internal", message: "the command could not be processed" } };
}
