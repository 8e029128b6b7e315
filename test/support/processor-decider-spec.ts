import { expect } from "vitest";
import type { CommandMeta } from "../../src/platform/contract/generated/avro-types.js";
import { DEFAULT_DEDUPE_WINDOW, type AggregateSnapshot, type DedupeWindow } from "../../src/platform/processor/aggregate-snapshot.js";
import { stepCommand, type StepDefinition } from "../../src/platform/processor/command-step.js";
import { withEventMeta } from "../../src/platform/processor/event-meta.js";
import type { CommandEnvelope, DecidedEvent, Decider, EventEnvelope } from "../../src/platform/domain/decider.js";
import { DomainError, type DomainErrorCode } from "../../src/platform/domain/domain-error.js";

/** Command metadata for tests: actor `u1` in workspace `w1`, unless overridden. */
export function commandMeta(overrides: Partial<CommandMeta> = {}): CommandMeta {
  return {
    commandId: "cmd-1",
    correlationId: "corr-1",
    actorId: "u1",
    workspaceId: "w1",
    issuedAt: 1_700_000_000_000,
    replyTo: null,
    ...overrides,
  };
}

/**
 * Given / when / then for deciders (emmett style):
 * `spec.given(events).when(command).then(events)`, `.thenThrows(code)`, `.thenNothingHappened()`.
 * The given events are written without `meta`, as `decide` returns them; they are evolved with
 * the meta the runtime would give them (workspace `w1` unless `given(events, {workspaceId})`).
 */
export function deciderSpec<C extends CommandEnvelope, E extends EventEnvelope, S>(decider: Decider<C, E, S>) {
  return {
    given(history: readonly DecidedEvent<E>[], meta: Partial<CommandMeta> = {}) {
      const state = withEventMeta<E>(commandMeta({ commandId: "history", ...meta }), history).reduce(
        (folded, event) => decider.evolve(folded, event),
        decider.initialState(),
      );
      return {
        /** The state the given events lead to. */
        state,
        when(command: C) {
          const decide = (): readonly DecidedEvent<E>[] => decider.decide(command, state);
          return {
            then(expected: readonly DecidedEvent<E>[]): void {
              expect(decide()).toEqual(expected);
            },
            thenNothingHappened(): void {
              expect(decide()).toEqual([]);
            },
            /** The decision is a DomainError of `code`; with `message`, one whose message matches it too. */
            thenThrows(code: DomainErrorCode, message?: string | RegExp): void {
              let thrown: unknown;
              try {
                decide();
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toBeInstanceOf(DomainError);
              expect((thrown as DomainError).code).toBe(code);
              if (message !== undefined) expect((thrown as DomainError).message).toMatch(message);
            },
          };
        },
      };
    },
  };
}

/**
 * Runs `commands` through the runtime's pure step with `definition`'s decider and dedupe window,
 * as the processor would (a redelivered id is a duplicate), and returns every event written and
 * the last snapshot. A command that fails (not a domain refusal) throws.
 */
export function runCommands<C extends CommandEnvelope, E extends EventEnvelope, S>(
  definition: StepDefinition<C, E, S> & { readonly dedupe?: DedupeWindow },
  commands: readonly C[],
): { events: E[]; snapshot: AggregateSnapshot<S> | undefined } {
  let snapshot: AggregateSnapshot<S> | undefined;
  const events: E[] = [];
  for (const command of commands) {
    const step = stepCommand(definition, snapshot, command, definition.dedupe ?? DEFAULT_DEDUPE_WINDOW);
    if (step.kind === "failed") throw step.error;
    if (step.kind === "duplicate") continue;
    snapshot = step.snapshot ?? snapshot;
    if (step.kind === "accepted") events.push(...step.events);
  }
  return { events, snapshot };
}
