import type { ContextCommands, ContextEvents } from "../contract/generated/avro-types.js";
import type { CommandContext } from "../contract/topics.js";
import type { Decider } from "../domain/decider.js";
import type { DedupeWindow } from "./aggregate-snapshot.js";

/**
 * Everything the processor runtime needs to run one context's aggregate: its decider, over the
 * context's generated command and event unions. Commands are read from
 * `quikapp.<context>.commands` (Avro record `quikchat.<context>.<type>`), events written to
 * `quikapp.<context>.events` under the same naming.
 */
export interface ProcessorDefinition<Ctx extends CommandContext, State> {
  readonly context: Ctx;
  readonly decider: Decider<ContextCommands[Ctx], ContextEvents[Ctx], State>;
  /**
   * The aggregate a command is about. It must equal the command's Kafka key, so that one
   * partition owns every command of an aggregate; a command whose key differs goes to the
   * dead-letter topic. Defaults to the context's key field (`CONTEXT_SPECS[context].keyField`).
   */
  aggregateId?(command: ContextCommands[Ctx]): string;
  /**
   * The `result` of an accepted command's outcome, from the events it caused (with `meta`) and
   * the state after them, e.g. `{id, seq, sentAt}` for a message. Pure; `{}` when absent. It
   * is computed once: a retried command gets the remembered result.
   */
  result?(events: readonly ContextEvents[Ctx][], state: State, command: ContextCommands[Ctx]): Record<string, unknown>;
  /** How many outcomes each aggregate remembers for retries; defaults to `DEFAULT_DEDUPE_WINDOW`. */
  readonly dedupe?: DedupeWindow;
}
