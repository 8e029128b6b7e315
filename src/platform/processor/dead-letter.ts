import type Kafka from "node-rdkafka";
import type { TransactionalRecord } from "./transactional-producer.js";

/**
 * Why a command went to the dead-letter topic (header `error_code`):
 * - `undecodable`: not a Confluent-framed Avro record, or a schema id the registry does not know;
 * - `unknown_command`: a valid record, but not a command of the context of the topic it was read from;
 * - `misrouted`: the Kafka key is not the command's aggregate id (the partition does not own it);
 * - `decide_failed`: the decider (or the result hook) threw something other than a `DomainError`;
 * - `invalid_event`: the decider returned an event that does not match its Avro schema.
 */
export type DeadLetterReason = "undecodable" | "unknown_command" | "misrouted" | "decide_failed" | "invalid_event";

const MAX_ERROR_LENGTH = 1_000;

/**
 * The header of a command that `quikchat dlq replay` re-produced: the dead letter it came from,
 * `<dlq topic>:<partition>:<offset>`. A replayed command that fails again keeps it on its new dead
 * letter, so that the replay tool can tell a replay's failure apart and never replays it in a loop.
 */
export const REPLAY_OF_HEADER = "replay_of";

/** The {@link REPLAY_OF_HEADER} of a consumed message, if it is a replay. */
function replayOf(message: Kafka.Message): string | undefined {
  for (const header of message.headers ?? []) {
    const value = header[REPLAY_OF_HEADER];
    if (value !== undefined) return value.toString();
  }
  return undefined;
}

/**
 * The dead-letter record of a command: its original key and value bytes, with headers `error`
 * (the message), `error_code`, `source_topic`, `source_partition` and `source_offset`, so that
 * it can be inspected and replayed to its source topic after a fix; a replayed command's dead letter
 * also keeps its {@link REPLAY_OF_HEADER}.
 */
export function deadLetterRecord(dlqTopic: string, message: Kafka.Message, reason: DeadLetterReason, error: Error): TransactionalRecord {
  const replayed = replayOf(message);
  return {
    topic: dlqTopic,
    key: message.key === undefined ? null : message.key,
    value: message.value,
    headers: {
      error: error.message.slice(0, MAX_ERROR_LENGTH),
      error_code: reason,
      source_topic: message.topic,
      source_partition: String(message.partition),
      source_offset: String(message.offset),
      ...(replayed === undefined ? {} : { [REPLAY_OF_HEADER]: replayed }),
    },
  };
}
