import type { ContextCommands, ContextEvents } from "../contract/generated/avro-types.js";
import type { CommandContext } from "../contract/topics.js";
import type { Decider } from "../domain/decider.js";
import type { DedupeWindow } from "./aggregate-snapshot.js";

/**
 * Everything the processor runtime needs to run one aggregate over the command contexts it
 * consumes: its decider, over the union of those contexts' generated command and event unions.
 *
 * `contexts[0]` owns the aggregate: its changelog `quikapp.<context>.state` holds the snapshots,
 * and it names the consumer group and transactional id. Commands are read from every context's
 * `quikapp.<context>.commands` (Avro record `quikchat.<context>.<Type>`); each event goes to the
 * events topic of the context that declares it, a dead letter to the DLQ of its command's context.
 *
 * With several contexts, their command topics and the changelog must be co-partitioned (same
 * partition count, same key): one aggregate's commands on every topic share a partition number,
 * and the runtime owns partition numbers, not topic partitions.
 */
export interface ProcessorDefinition<Ctx extends CommandContext, State> {
  readonly contexts: readonly [Ctx, ...Ctx[]];
  readonly decider: Decider<ContextCommands[Ctx], ContextEvents[Ctx], State>;
  /**
   * The aggregate a command is about. It must equal the command's Kafka key, so that one
   * partition owns every command of an aggregate; a command whose key differs goes to the
   * dead-letter topic. Defaults to the key field of the command's context (`CONTEXT_SPECS[context].keyField`).
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
  /**
   * The aggregate's next deadline, if it has one (typing expiry, connection staleness). Pure.
   * The partition owner issues `command` at `at` through the commands topic of its context, so
   * that the expiry is decided like any command and a replay decides it the same way. The
   * issued command's meta: `commandId` `timer:<aggregateId>:<type>:<at>`, `issuedAt` = `at`,
   * actor `system:timer`, `workspaceId` from here, no `replyTo`, correlation id the commandId (the
   * aggregate id in a context that correlates by key). A late or repeated timer
   * command must be harmless: the decider checks the deadline is still current.
   */
  timer?(state: State, aggregateId: string): ScheduledCommand<ContextCommands[Ctx]> | undefined;
  /**
   * Large pieces of a state that later states share unchanged (the same objects), to be stored
   * in the changelog apart from the aggregate's record, so that a batch rewrites only what
   * changed (see `ChangelogCodec`). Pure; none by default: the whole state is written each time.
   */
  snapshotParts?(state: State): readonly object[];
}

/** A command the runtime issues at a deadline: its type and its fields without `meta`. */
export interface ScheduledCommand<C extends { readonly type: string; readonly data: { readonly meta: unknown } }> {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly workspaceId: string;
  readonly command: C extends C ? { readonly type: C["type"]; readonly data: Omit<C["data"], "meta"> } : never;
}

/**
 * A processor definition of some contexts and state, as lists of them hold it (each context
 * module returns its own): the runtime moves commands and events as opaque envelopes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of definitions of different generic arguments
export type AnyProcessorDefinition = ProcessorDefinition<any, any>;
