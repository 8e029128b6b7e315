import type { CommandOutcome } from "./command-outcome.js";

/** The outcome of one command, for the gateway node that sent it (`meta.replyTo`). */
export interface CommandReply {
  readonly replyTo: string;
  readonly outcome: CommandOutcome;
}

/**
 * Carries command outcomes to the gateway nodes that sent the commands.
 *
 * Contract:
 * - the runtime calls `publish` once per batch, only after the batch's transaction committed,
 *   with the replies in the order of the batch's commands (possibly none);
 * - delivery is at most once: a reply may be lost (a gateway down, a broken connection), never
 *   repeated; the sender times out and retries the command, and the retry is answered from the
 *   aggregate's dedupe window;
 * - `publish` never throws into the batch: it resolves once the replies are sent or given up,
 *   and reports a failure itself.
 */
export interface ReplyPublisher {
  publish(replies: readonly CommandReply[]): Promise<void>;
}
