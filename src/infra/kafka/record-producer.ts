import { CompressionTypes, Partitioners, type Kafka, type Producer } from "kafkajs";
import type { AvroCodec } from "../avro/avro-codec.js";

/** One Avro record to append to a topic. */
export interface OutgoingRecord {
  readonly topic: string;
  /** Partitioning key: the aggregate id, so a conversation's records stay in order. */
  readonly key: string;
  readonly fullName: string;
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Appends Avro records to Kafka with an idempotent kafkajs producer (`acks=all`, one request
 * in flight, so retries neither duplicate nor reorder records of a partition).
 *
 * `send` resolves once every record is acknowledged by the in-sync replicas; a record that
 * does not match its schema is refused before anything is sent.
 */
export class RecordProducer {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly codec: AvroCodec,
  ) {
    // Murmur2 keys as the Java client does, so records keyed by an aggregate id land on the
    // same partition number whichever client (or language) wrote them: commands and events of
    // a context are co-partitioned. librdkafka producers must use `murmur2_random` to match.
    // Retries are bounded: a command that is given up on is retried by its client with the
    // same commandId, and the processor answers a repeated commandId without a new event.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async send(records: readonly OutgoingRecord[]): Promise<void> {
    const byTopic = new Map<string, { key: string; value: Buffer; headers?: Record<string, string> }[]>();
    for (const record of records) {
      const message = {
        key: record.key,
        value: this.codec.encode(record.fullName, record.value),
        ...(record.headers ? { headers: { ...record.headers } } : {}),
      };
      byTopic.set(record.topic, [...(byTopic.get(record.topic) ?? []), message]);
    }
    await this.connect();
    await this.producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }

  async close(): Promise<void> {
    if (this.connected === undefined) return;
    this.connected = undefined;
    await this.producer.disconnect();
  }
}
