/**
 * The decider port every aggregate implements, and the envelopes it speaks. A decider is pure:
 * time, ids and the actor arrive in the command's `meta`; it never performs I/O.
 *
 * It lives in the platform's domain folder (not beside the runtime in `src/platform/processor/`) because deciders must be
 * able to name it, and the domain may not import anything outside itself.
 */
import type { CommandMeta, EventMeta } from "../contract/generated/avro-types.js";

/** A command as the generated per-context unions shape it: `{type: "AddMember", data: AddMember}`. */
export interface CommandEnvelope {
  readonly type: string;
  readonly data: { readonly meta: CommandMeta };
}

/** An event as the generated per-context unions shape it: `{type: "MemberAdded", data: MemberAdded}`. */
export interface EventEnvelope {
  readonly type: string;
  readonly data: { readonly meta: EventMeta };
}

/**
 * An event as `decide` returns it: the envelope without `meta`. The processor runtime fills
 * `meta` deterministically from the command (`eventId` = `<commandId>:<index>`, `occurredAt` =
 * `issuedAt`, `causationId` = `commandId`, and the command's correlation id, actor and
 * workspace), so the same command always yields byte-identical events.
 */
export type DecidedEvent<E extends EventEnvelope> = E extends EventEnvelope
  ? { readonly type: E["type"]; readonly data: Omit<E["data"], "meta"> }
  : never;

/**
 * An aggregate's decision logic (emmett-style).
 *
 * - `initialState()` is the state of an aggregate nothing has happened to.
 * - `evolve(state, event)` folds one event (with its `meta`) into the state. It is total (never
 *   throws; an event that does not apply leaves the state as it is) and returns a new state
 *   without mutating its input: the runtime keeps the previous state to roll back an aborted
 *   batch. State must survive a JSON round trip (plain objects, arrays, strings, numbers,
 *   booleans, null), because the runtime stores it in the changelog as JSON.
 * - `decide(command, state)` returns the events the command causes, `[]` for an idempotent
 *   no-op, or throws a {@link DomainError} to reject it. Anything else it throws is a bug: the
 *   command goes to the dead-letter topic.
 */
export interface Decider<Command extends CommandEnvelope, Event extends EventEnvelope, State> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): readonly DecidedEvent<Event>[];
}

/** Compile-time exhaustiveness: a `switch` over a union ends with `default: return unreachable(x)`. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
