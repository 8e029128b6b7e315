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

interface Queued {
  readonly messages: { topic: string; message: { key: string; value: Buffer; headers?: Record<string, string> } }[];
  resolve(): void;
  reject(error: Error): void;
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
  private readonly queue: Queued[] = [];
  private flushing = false;

  /**
   * `produceSeconds` observes each request, from sending it to its acknowledgement
   * (`kafka_produce_latency_seconds` of the producing role).
   */
  constructor(
    kafka: Kafka,
    private readonly codec: AvroCodec,
    private readonly produceSeconds?: { observe(seconds: number): void },
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

  /**
   * Appends `records` after everything sent before; resolves once they are acknowledged. While
   * one request is in flight, the records of later calls are gathered and go out together in
   * the next request: one request at a time keeps the order, batching keeps the throughput.
   */
  send(records: readonly OutgoingRecord[]): Promise<void> {
    let messages: Queued["messages"];
    try {
      messages = records.map((record) => ({
        topic: record.topic,
        message: {
          key: record.key,
          value: this.codec.encode(record.fullName, record.value),
          ...(record.headers ? { headers: { ...record.headers } } : {}),
        },
      }));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const byTopic = new Map<string, Queued["messages"][number]["message"][]>();
      for (const { topic, message } of batch.flatMap((queued) => queued.messages)) {
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
      }
      try {
        await this.connect();
        const started = process.hrtime.bigint();
        await this.producer.sendBatch({
          acks: -1,
          compression: CompressionTypes.None,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        this.produceSeconds?.observe(Number(process.hrtime.bigint() - started) / 1e9);
        for (const queued of batch) queued.resolve();
      } catch (error) {
        for (const queued of batch) queued.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.flushing = false;
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
