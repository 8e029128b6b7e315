import type { CommandMeta } from "./generated/avro-types.js";
import { CONTEXT_SPECS, type CommandContext } from "./topics.js";

/**
 * `command` as its context correlates it: in a context whose spec says `correlateByKey`, with its
 * Kafka key (the aggregate id) as `meta.correlationId`, so that every command of a call carries
 * the callId, whoever issued it; unchanged otherwise. The command bus and the processors' timers
 * send every command through this.
 */
export function correlated<C extends { meta: CommandMeta }>(context: CommandContext, key: string, command: C): C {
  if (!CONTEXT_SPECS[context].correlateByKey || command.meta.correlationId === key) return command;
  return { ...command, meta: { ...command.meta, correlationId: key } };
}
