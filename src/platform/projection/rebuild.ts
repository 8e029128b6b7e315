import Kafka from "node-rdkafka";
import { consumerSettings, END_SEEN_SOON } from "../../infra/kafka/consumer-settings.js";
import { asKafkaError, connect, consume, disconnect, OFFSET_BEGINNING } from "../../infra/kafka/rdkafka-calls.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import { decodeMessage, type ConsumedRecord } from "../../infra/kafka/record-consumer.js";
import type { Logger } from "../../infra/log/logger.js";
import type { ProjectionSink } from "./projection-runtime.js";

/** A sink that can be emptied: its read model and its checkpoints go together. */
export interface RebuildableSink extends ProjectionSink {
  clear(): Promise<void>;
}

/** The offsets of one partition, as the broker reports them. */
export interface PartitionOffsets {
  readonly partition: number;
  /** The first offset still in the log. */
  readonly low: number;
  /** The offset the next record will get. */
  readonly high: number;
}

/** One partition of a projection, as `quikchat projections status` prints it. */
export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the projection will read; undefined when it has no checkpoint (nothing applied). */
  readonly checkpoint: number | undefined;
  readonly highWatermark: number;
  /**
   * Offsets not applied yet: high watermark minus checkpoint (minus the low watermark without a
   * checkpoint). Transaction markers take offsets too, so a caught-up partition whose last write
   * was a transaction shows 1.
   */
  readonly lag: number;
}

/** The status of each partition of `topic` for the projection whose checkpoints are `checkpoints` (pure). */
export function partitionStatus(topic: string, offsets: readonly PartitionOffsets[], checkpoints: ReadonlyMap<number, number>): PartitionStatus[] {
  return [...offsets]
    .sort((a, b) => a.partition - b.partition)
    .map(({ partition, low, high }) => {
      const checkpoint = checkpoints.get(partition);
      return { topic, partition, checkpoint, highWatermark: high, lag: Math.max(0, high - Math.max(checkpoint ?? low, low)) };
    });
}

export interface RebuildProgress {
  /** Offsets read so far, over every partition. */
  readonly read: number;
  /** Offsets to read: from each partition's low watermark to the high watermark captured at start. */
  readonly total: number;
  /** Events the sink applied so far. */
  readonly applied: number;
}

export interface RebuildResult {
  readonly topic: string;
  /** Events applied to the read model. */
  readonly applied: number;
  /** Offsets read (records, undecodable ones and transaction markers included). */
  readonly read: number;
  readonly undecodable: number;
  readonly seconds: number;
}

export interface RebuildOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Required by librdkafka; the rebuild assigns partitions itself, never joins this group nor commits. */
  readonly groupId: string;
  readonly topic: string;
  /** The high watermark of each partition when the rebuild starts: it replays up to there. */
  readonly offsets: readonly PartitionOffsets[];
  readonly batchSize?: number;
  /** Called with the records the sink applied, after the commit; for caches, never for live side effects. */
  readonly afterApply?: (records: readonly ConsumedRecord[]) => Promise<void>;
  readonly onProgress?: (progress: RebuildProgress) => void;
}

/**
 * Rebuilds a projection: empties `sink` (read model and checkpoints), then replays `topic` from
 * the beginning up to the high watermarks in `options.offsets`, applying each partition's
 * records to the sink in offset order. Nothing but `options.afterApply` runs after a commit: no
 * deltas, no pushes.
 *
 * The replay reads with a consumer of its own (`read_committed`, manual assignment), so it does
 * not join or disturb the projection's consumer group; but the projection itself must not run
 * meanwhile (the caller checks), or it would write its live records into the cleared read model
 * first and the replay would then skip everything below them. Records after the captured high
 * watermarks are left for the projection when it starts again: it resumes at the checkpoint.
 */
export async function rebuildProjection(sink: RebuildableSink, codec: AvroCodec, logger: Logger, options: RebuildOptions): Promise<RebuildResult> {
  const { topic } = options;
  const started = performance.now();
  const target = new Map(options.offsets.filter(({ low, high }) => high > low).map(({ partition, high }) => [partition, high]));
  const position = new Map(options.offsets.map(({ partition, low }) => [partition, low]));
  const total = options.offsets.reduce((sum, { low, high }) => sum + Math.max(0, high - low), 0);
  let applied = 0;
  let undecodable = 0;
  const read = () => options.offsets.reduce((sum, { partition, low, high }) => sum + Math.min(high, position.get(partition) ?? low) - low, 0);
  const report = () => options.onProgress?.({ read: read(), total, applied });

  await sink.clear();
  report();
  const remaining = new Set(target.keys());
  if (remaining.size > 0) {
    const consumer = new Kafka.KafkaConsumer(
      consumerSettings(options, END_SEEN_SOON),
      { "auto.offset.reset": "earliest" },
    );
    consumer.on("event.error", (error) => logger.warn({ err: asKafkaError(error) }, "rebuild consumer error"));
    const advance = (partition: number, next: number) => {
      position.set(partition, Math.max(position.get(partition) ?? 0, next));
      if (next >= (target.get(partition) ?? 0)) remaining.delete(partition);
    };
    // The end a read_committed consumer reaches is the last stable offset: past the target once the
    // target's transactions are decided. An open transaction below the target is waited for.
    consumer.on("partition.eof", (eof) => {
      if (eof.topic === topic) advance(eof.partition, eof.offset);
    });
    await connect(consumer, 10_000);
    try {
      consumer.assign([...target.keys()].map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })));
      while (remaining.size > 0) {
        const byPartition = new Map<number, Kafka.Message[]>();
        for (const message of await consume(consumer, options.batchSize ?? 500, 100)) {
          if (message.topic !== topic || message.offset >= (target.get(message.partition) ?? 0)) continue;
          byPartition.set(message.partition, [...(byPartition.get(message.partition) ?? []), message]);
        }
        for (const [partition, messages] of byPartition) {
          const records: ConsumedRecord[] = [];
          for (const message of messages) {
            try {
              records.push(await decodeMessage(codec, message));
            } catch (error) {
              undecodable += 1;
              logger.error({ err: error, topic, partition, offset: message.offset }, "rebuild: skipping an undecodable event");
            }
          }
          const done = records.length > 0 ? await sink.apply(topic, partition, records) : [];
          applied += done.length;
          if (done.length > 0) await options.afterApply?.(done);
          advance(partition, messages[messages.length - 1]!.offset + 1);
        }
        report();
      }
    } finally {
      consumer.unassign();
      await disconnect(consumer);
    }
  }
  report();
  return { topic, applied, read: read(), undecodable, seconds: (performance.now() - started) / 1000 };
}
