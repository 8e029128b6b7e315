import Kafka from "node-rdkafka";
import { consumerSettings } from "./consumer-settings.js";
import { asKafkaError, connect, consume, disconnect } from "./rdkafka-calls.js";
import type { AvroCodec } from "../avro/avro-codec.js";
import type { Logger } from "../log/logger.js";
import { sleep } from "../../platform/sleep.js";

/** How long a consume call waits for a first record; the loop checks for work of its own in between. */
const CONSUME_WAIT_MS = 50;

/** A record read from Kafka and decoded into its reader schema. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly timestamp: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly fullName: string;
  readonly value: unknown;
}

/** A record that could not be decoded, kept whole so that it can go to a dead-letter topic. */
export interface UndecodableRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly error: Error;
}

export interface RecordConsumerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. */
  readonly fromBeginning?: boolean;
  /** `read_committed` (default) hides records of aborted and open transactions. */
  readonly isolation?: "read_committed" | "read_uncommitted";
  readonly batchSize?: number;
}

export interface RecordHandlers {
  /** Handles a batch in order; offsets are committed only after it resolves. */
  onBatch(records: readonly ConsumedRecord[]): Promise<void>;
  /** Called for each undecodable record before the batch that follows it; never stops the loop. */
  onUndecodable(record: UndecodableRecord): Promise<void>;
}

/**
 * A node-rdkafka consumer in a group that decodes Confluent-framed Avro records with the
 * codec's reader schemas and commits offsets after each handled batch (at-least-once: a
 * crash between handling and commit redelivers the batch, so handlers are idempotent).
 */
export class RecordConsumer {
  private readonly consumer: Kafka.KafkaConsumer;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly options: RecordConsumerOptions,
    private readonly codec: AvroCodec,
    private readonly logger: Logger,
  ) {
    this.consumer = new Kafka.KafkaConsumer(
      consumerSettings(options, { "isolation.level": options.isolation ?? "read_committed" }),
      { "auto.offset.reset": options.fromBeginning === false ? "latest" : "earliest" },
    );
    this.consumer.on("event.error", (error) => this.logger.warn({ err: error }, "kafka consumer error"));
  }

  /** Connects, subscribes and starts the consume loop; resolves once subscribed. */
  async start(handlers: RecordHandlers): Promise<void> {
    await connect(this.consumer, 10_000);
    this.consumer.subscribe([...this.options.topics]);
    this.running = true;
    this.loop = this.run(handlers);
  }

  private async run(handlers: RecordHandlers): Promise<void> {
    // consume(n) returns early only when records stop arriving: n bounds how long a steady stream is held.
    const batchSize = this.options.batchSize ?? 64;
    while (this.running) {
      let messages: Kafka.Message[];
      try {
        messages = await consume(this.consumer, batchSize, CONSUME_WAIT_MS);
      } catch (error) {
        this.logger.warn({ err: error }, "kafka consume failed; retrying");
        await sleep(500);
        continue;
      }
      if (messages.length === 0) continue;
      const decoded: ConsumedRecord[] = [];
      for (const message of messages) {
        try {
          decoded.push(await decodeMessage(this.codec, message));
        } catch (error) {
          await handlers.onUndecodable({
            topic: message.topic,
            partition: message.partition,
            offset: message.offset,
            key: toBuffer(message.key),
            value: message.value,
            error: asKafkaError(error),
          });
        }
      }
      if (decoded.length > 0) await handlers.onBatch(decoded);
      this.consumer.commit(nextOffsets(messages));
    }
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
    await disconnect(this.consumer);
  }
}

/** Decodes one Kafka message into its reader schema; rejects with `AvroDecodeError` for bytes that are not a known record. */
export async function decodeMessage(codec: AvroCodec, message: Kafka.Message): Promise<ConsumedRecord> {
  const { fullName, value } = await codec.decode(message.value);
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key === undefined || message.key === null ? null : message.key.toString(),
    timestamp: message.timestamp,
    headers: headersOf(message),
    fullName,
    value,
  };
}

/** A message's headers as strings (a repeated name keeps its last value). */
export function headersOf(message: Kafka.Message): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const header of message.headers ?? []) {
    for (const [name, headerValue] of Object.entries(header)) headers[name] = headerValue.toString();
  }
  return headers;
}

/** A message key as bytes (node-rdkafka hands keys over as Buffers or strings). */
export function toBuffer(key: Kafka.MessageKey | undefined): Buffer | null {
  if (key === undefined || key === null) return null;
  return Buffer.isBuffer(key) ? key : Buffer.from(String(key));
}

/** The offsets to commit after `messages`: one past the last record of each partition. */
function nextOffsets(messages: readonly Kafka.Message[]): Kafka.TopicPartitionOffset[] {
  const last = new Map<string, Kafka.TopicPartitionOffset>();
  for (const { topic, partition, offset } of messages) {
    last.set(`${topic}\u0000${partition}`, { topic, partition, offset: offset + 1 });
  }
  return [...last.values()];
}
