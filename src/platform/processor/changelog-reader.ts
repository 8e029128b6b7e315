import Kafka from "node-rdkafka";
import { consumerSettings, END_SEEN_SOON } from "../../infra/kafka/consumer-settings.js";
import type { Logger } from "../../infra/log/logger.js";
import { asKafkaError, connect, consume, disconnect, OFFSET_BEGINNING } from "../../infra/kafka/rdkafka-calls.js";

export interface ChangelogReaderOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Required by librdkafka; the reader never joins the group nor commits. */
  readonly groupId: string;
  /** The compacted changelog, `quikapp.<context>.state`. */
  readonly topic: string;
}

/** `read` gave up because the runtime is stopping. */
export class RestoreInterrupted extends Error {
  constructor() {
    super("restore interrupted: the processor is stopping");
    this.name = "RestoreInterrupted";
  }
}

/** Per partition, the latest value of every key (tombstoned keys are absent). */
export type PartitionValues = Map<number, Map<string, Buffer>>;

/**
 * Reads changelog partitions from the beginning into memory, with a consumer of its own
 * (`read_committed`, manual assignment).
 *
 * A partition is read when the reader has reached its high watermark. The end a
 * `read_committed` consumer sees is the last stable offset; while a transaction is still open on
 * the partition (a dead instance's, until the coordinator aborts it after its transaction
 * timeout, or until a producer with the same transactional id starts), the reader waits for it:
 * stopping at the last stable offset could miss records committed behind it.
 */
export class ChangelogReader {
  private readonly consumer: Kafka.KafkaConsumer;

  constructor(
    private readonly options: ChangelogReaderOptions,
    private readonly logger: Logger,
  ) {
    this.consumer = new Kafka.KafkaConsumer(
      consumerSettings(options, END_SEEN_SOON),
      { "auto.offset.reset": "earliest" },
    );
    this.consumer.on("event.error", (error) => this.logger.warn({ err: asKafkaError(error) }, "kafka changelog reader error"));
  }

  async start(): Promise<void> {
    await connect(this.consumer, 10_000);
  }

  /**
   * The latest value of every key in `partitions` (tombstones delete), for `ChangelogCodec` to
   * read. Throws {@link RestoreInterrupted} once `stopping()` turns true.
   */
  async read(partitions: readonly number[], stopping: () => boolean): Promise<PartitionValues> {
    const topic = this.options.topic;
    const states: PartitionValues = new Map(partitions.map((partition) => [partition, new Map<string, Buffer>()]));
    const reading = new Set(partitions);
    const waiting = new Set<number>();
    const onEof = (eof: Kafka.EofEvent): void => {
      if (eof.topic !== topic || !reading.has(eof.partition)) return;
      const { highOffset } = this.consumer.getWatermarkOffsets(topic, eof.partition);
      if (eof.offset >= highOffset) {
        reading.delete(eof.partition);
      } else if (!waiting.has(eof.partition)) {
        waiting.add(eof.partition);
        this.logger.info(
          { topic, partition: eof.partition, stableOffset: eof.offset, highOffset },
          "changelog has a transaction still open; waiting for it to commit or abort",
        );
      }
    };
    this.consumer.on("partition.eof", onEof);
    this.consumer.assign(partitions.map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })));
    try {
      while (reading.size > 0) {
        if (stopping()) throw new RestoreInterrupted();
        for (const message of await consume(this.consumer, 1_000, 100)) {
          const aggregates = states.get(message.partition);
          if (aggregates === undefined || message.key === undefined || message.key === null) continue;
          const id = message.key.toString();
          if (message.value === null) aggregates.delete(id);
          else aggregates.set(id, message.value);
        }
      }
      return states;
    } finally {
      this.consumer.removeListener("partition.eof", onEof);
      this.consumer.unassign();
    }
  }

  close(): Promise<void> {
    return disconnect(this.consumer);
  }
}
