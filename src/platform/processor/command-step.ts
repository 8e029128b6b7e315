import type { CommandEnvelope, Decider, EventEnvelope } from "../domain/decider.js";
import { DomainError } from "../domain/domain-error.js";
import { remember, rememberedOutcome, type AggregateSnapshot, type DedupeWindow } from "./aggregate-snapshot.js";
import type { CommandOutcome } from "./command-outcome.js";
import { withEventMeta } from "./event-meta.js";

/** What processing one command amounts to, before anything is written. */
export type CommandStep<E, S> =
  /** Seen before: answer the remembered outcome, write nothing. */
  | { readonly kind: "duplicate"; readonly outcome: CommandOutcome }
  /** Accepted: write `events` (possibly none) and the new snapshot. */
  | { readonly kind: "accepted"; readonly events: readonly E[]; readonly snapshot: AggregateSnapshot<S> | undefined; readonly outcome: CommandOutcome }
  /** Rejected by the domain: no event; the snapshot remembers the rejection. */
  | { readonly kind: "rejected"; readonly snapshot: AggregateSnapshot<S> | undefined; readonly outcome: CommandOutcome }
  /** The decider (or the result hook) threw something other than a `DomainError`: a bug. */
  | { readonly kind: "failed"; readonly error: Error };

export interface StepDefinition<C extends CommandEnvelope, E extends EventEnvelope, S> {
  readonly decider: Decider<C, E, S>;
  result?(events: readonly E[], state: S, command: C): Record<string, unknown>;
}

/**
 * Runs one command against an aggregate's snapshot (`undefined`: the aggregate has no history).
 * Pure: no I/O, the clock is the command's `issuedAt`.
 *
 * The outcome is remembered in the new snapshot, so that a retry is answered identically —
 * except when the aggregate does not exist and the command changes nothing (a rejection or a
 * no-op): then no snapshot is created (`snapshot: undefined`), so commands naming unknown ids
 * leave no state behind, and a retry is decided again (with the same answer unless the
 * aggregate was created in between). Failures are not remembered either: after a fix, the
 * command replayed from the dead-letter topic is decided for real.
 */
export function stepCommand<C extends CommandEnvelope, E extends EventEnvelope, S>(
  definition: StepDefinition<C, E, S>,
  snapshot: AggregateSnapshot<S> | undefined,
  command: C,
  window: DedupeWindow,
): CommandStep<E, S> {
  const meta = command.data.meta;
  if (snapshot !== undefined) {
    const previous = rememberedOutcome(snapshot, meta.commandId);
    if (previous !== undefined) return { kind: "duplicate", outcome: previous };
  }
  const current = snapshot ?? { version: 0, state: definition.decider.initialState(), outcomes: [] };
  const keep = (outcome: CommandOutcome, changes: { version: number; state: S } | undefined): AggregateSnapshot<S> | undefined =>
    snapshot === undefined && changes === undefined
      ? undefined
      : { ...current, ...changes, outcomes: remember(current.outcomes, { issuedAt: meta.issuedAt, outcome }, window) };

  try {
    let decided;
    try {
      decided = definition.decider.decide(command, current.state);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const outcome: CommandOutcome = { commandId: meta.commandId, ok: false, error: { code: error.code, message: error.message } };
      return { kind: "rejected", outcome, snapshot: keep(outcome, undefined) };
    }
    const events = withEventMeta<E>(meta, decided);
    const state = events.reduce((folded, event) => definition.decider.evolve(folded, event), current.state);
    const result = definition.result?.(events, state, command) ?? {};
    const outcome: CommandOutcome = { commandId: meta.commandId, ok: true, result };
    const changes = events.length > 0 ? { version: current.version + events.length, state } : undefined;
    return { kind: "accepted", events, outcome, snapshot: keep(outcome, changes) };
  } catch (error) {
    return { kind: "failed", error: error instanceof Error ? error : new Error(String(error)) };
  }
}
