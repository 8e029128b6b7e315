import type { CommandMeta, EventMeta } from "../contract/generated/avro-types.js";
import type { DecidedEvent, EventEnvelope } from "../domain/decider.js";

/**
 * The `meta` of the `index`-th event decided from a command. Deterministic, so that processing
 * the same command again (after an aborted transaction, or a replay) yields identical events:
 * `eventId` is `<commandId>:<index>`, `occurredAt` the command's `issuedAt`, `causationId` the
 * `commandId`; correlation id, actor and workspace are the command's.
 */
export function eventMeta(command: CommandMeta, index: number): EventMeta {
  return {
    eventId: `${command.commandId}:${index}`,
    occurredAt: command.issuedAt,
    correlationId: command.correlationId,
    causationId: command.commandId,
    actorId: command.actorId,
    workspaceId: command.workspaceId,
  };
}

/** The decided events of a command with their `meta` filled in. */
export function withEventMeta<E extends EventEnvelope>(command: CommandMeta, decided: readonly DecidedEvent<E>[]): E[] {
  return decided.map((event, index) => ({ type: event.type, data: { ...event.data, meta: eventMeta(command, index) } }) as unknown as E);
}
