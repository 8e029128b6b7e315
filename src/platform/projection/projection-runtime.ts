import Kafka from "node-rdkafka";
import { consumerSettings } from "../../infra/kafka/consumer-settings.js";
import { reportConsumerLag, STATISTICS_INTERVAL_MS } from "../../infra/kafka/consumer-lag.js";
import { asKafkaError, connect, consume, disconnect, OFFSET_BEGINNING } from "../../infra/kafka/rdkafka-calls.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import { decodeMessage, type ConsumedRecord } from "../../infra/kafka/record-consumer.js";
import type { Logger } from "../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../infra/metrics/service-metrics.js";
import { sleep } from "../sleep.js";

/** How long a consume call waits for a first record; the loop checks for work of its own in between. */
const CONSUME_WAIT_MS = 50;

/**
 * Where a projection keeps its read model and its checkpoint, together.
 *
 * `apply` is atomic: the read-model changes of `records` and the new checkpoint (offset of the
 * last record + 1) commit together or not at all, so a crash never leaves one without the
 * other. Records below the stored checkpoint are skipped, which makes replaying any record
 * (redelivery, a rebalance, a restart) change nothing.
 */
export interface ProjectionSink {
  /** The next offset to read for each partition of `topic` that has a checkpoint. */
  checkpoints(topic: string): Promise<Map<number, number>>;
  /** Applies the records of one topic-partition, in offset order; resolves with those actually applied. */
  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]>;
  /**
   * Optional, for a sink that can lose its data under the runtime (Redis without persistence):
   * rejects when checkpoints it returned or wrote have vanished. The runtime calls it between
   * batches, at most every {@link VERIFY_INTERVAL_MS}, so that a loss is noticed without waiting
   * for a record of each partition; on a rejection it moves its partitions back to the sink's
   * checkpoints, as after a failed batch.
   */
  verify?(): Promise<void>;
}

/** How often, at most, a running projection asks its sink whether it still holds its checkpoints. */
const VERIFY_INTERVAL_MS = 1_000;

/** What happens after a write committed: deltas, cache updates. Never called for skipped records. */
export type AfterApply = (records: readonly ConsumedRecord[], context: { readonly catchingUp: boolean }) => Promise<void>;

export interface ProjectionOptions {
  /** Names the consumer group (`<prefix>quikchat.projection.<name>`) and the checkpoints. */
  readonly name: string;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupPrefix: string;
  readonly topics: readonly string[];
  readonly batchSize?: number;
  /**
   * Applies the partitions of a consumed batch at the same time instead of one after the other
   * (each partition's records stay in order). Only for a sink whose applies of different
   * partitions may overlap, such as one over a connection pool: a batch spread over n partitions
   * then costs about one database transaction instead of n.
   */
  readonly parallelPartitions?: boolean;
  /**
   * Reports `quikchat_projection_lag` (after each batch: the partition's high watermark as last
   * fetched, minus the next offset; 0 at the partition's end) and `quikchat_projection_events_total`.
   */
  readonly metrics?: ProjectionMetrics;
  /**
   * Runs in `close`, once the consumer has disconnected (no batch is under way any more): closes
   * what only this projection uses, such as its sink's own connection.
   */
  readonly onClose?: () => Promise<void>;
  /**
   * Takes each record that cannot be decoded (not Confluent-framed Avro, a schema id the registry
   * does not know), e.g. to a dead-letter topic, before the records after it are applied; when it
   * rejects, the batch fails and is retried. Without it such records are logged and skipped.
   */
  readonly deadLetter?: (message: Kafka.Message, error: Error) => Promise<void>;
}

/**
 * The options of the projection `name` of one event topic (`topic`, without the topic prefix) as
 * a role runs it: its consumer group and client id from its name, its metrics when given.
 */
export function projectionOptions(
  kafka: { readonly brokers: readonly string[]; readonly clientId: string; readonly topicPrefix: string },
  name: string,
  topic: string,
  metrics: ProjectionMetrics | undefined,
): ProjectionOptions {
  return {
    name,
    brokers: kafka.brokers,
    clientId: `${kafka.clientId}-${name}`,
    groupPrefix: kafka.topicPrefix,
    topics: [kafka.topicPrefix + topic],
    ...(metrics ? { metrics } : {}),
  };
}

interface PartitionKey {
  readonly topic: string;
  readonly partition: number;
}

const key = ({ topic, partition }: PartitionKey): string => `${topic}\u0000${partition}`;

/**
 * `promise`, marked as handled: the loop awaits it only after its current batch or back-off, and
 * a read of the checkpoints that fails meanwhile (the database restarting) must not count as an
 * unhandled rejection, which ends the process. Awaiting it still throws.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Runs a projection: a read_committed consumer group over event topics that hands each
 * partition's records to a sink in offset order and, once they are committed there, to
 * `afterApply`.
 *
 * On assignment each partition is moved to the sink's own checkpoint (Kafka's committed offset
 * is only a hint, committed after the sink, so it is never ahead). While a partition is behind
 * the high watermark it had when assigned, `afterApply` is told it is catching up, so a
 * rebuild does not replay live side effects. Undecodable records are logged and
 * skipped (handed to `deadLetter` first, when given): they stay in the log, and the partition
 * keeps flowing.
 */
export class ProjectionRuntime {
  private readonly consumer: Kafka.KafkaConsumer;
  private readonly liveFrom = new Map<string, number>();
  /** Partitions assigned whose end (as of their assignment) has not been reached yet: the read model lags behind them. */
  private readonly behind = new Set<string>();
  private assignedOnce = false;
  private pendingSeeks: Promise<void> = Promise.resolve();
  /**
   * The partitions the group gave this member. A retry moves these (not the consumer's current
   * assignment, which is empty when the assignment itself failed, e.g. with the broker away).
   */
  private owned: readonly PartitionKey[] = [];
  private running = false;
  private nextVerify = 0;
  private loop: Promise<void> | undefined;
  private generation = 0;

  constructor(
    private readonly options: ProjectionOptions,
    private readonly sink: ProjectionSink,
    private readonly codec: AvroCodec,
    private readonly logger: Logger,
    private readonly afterApply: AfterApply = async () => undefined,
  ) {
    this.consumer = new Kafka.KafkaConsumer(
      consumerSettings(
        { ...options, groupId: `${options.groupPrefix}quikchat.projection.${options.name}` },
        {
          ...(options.metrics === undefined ? {} : { "statistics.interval.ms": STATISTICS_INTERVAL_MS }),
          rebalance_cb: (error: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => this.rebalance(error, assignment),
        },
      ),
      { "auto.offset.reset": "earliest" },
    );
    this.consumer.on("event.error", (error) => this.logger.warn({ err: error }, "projection consumer error"));
    if (options.metrics !== undefined) reportConsumerLag(this.consumer, options.metrics.kafka.consumerLag, `projection:${options.name}`);
    // At a partition's end there is nothing left to apply, whatever transaction markers follow the last record.
    this.consumer.on("partition.eof", (eof) => {
      this.behind.delete(key(eof));
      this.options.metrics?.lag.set(this.labels(eof), 0);
    });
  }

  async start(): Promise<void> {
    await connect(this.consumer, 10_000);
    this.consumer.subscribe([...this.options.topics]);
    this.running = true;
    this.loop = this.run();
  }

  /**
   * `starting` until the group first assigned this member and it moved to its checkpoints;
   * `catching_up` while a partition has not reached the end it had when assigned (after a
   * restart, a rebalance, or a rebuild from the beginning when the read model was lost);
   * `live` otherwise.
   */
  state(): "starting" | "catching_up" | "live" {
    if (!this.assignedOnce || !this.running) return "starting";
    return this.behind.size > 0 ? "catching_up" : "live";
  }

  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop?.catch(() => undefined);
    try {
      await disconnect(this.consumer);
    } finally {
      await this.options.onClose?.();
    }
  }

  private rebalance(error: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]): void {
    if (error.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      // Assigned once the checkpoints are read (the loop waits for it): fetching starts right there.
      const assigned = assignment.map(({ topic, partition }) => ({ topic, partition }));
      this.owned = assigned;
      this.afterPendingSeeks(() => this.moveToCheckpoints(assigned));
    } else {
      // An assignment still being prepared must not be made after its revocation.
      this.generation += 1;
      const revoked = new Set(assignment.map(key));
      this.owned = this.owned.filter((partition) => !revoked.has(key(partition)));
      for (const partition of assignment) {
        this.liveFrom.delete(key(partition));
        this.behind.delete(key(partition));
        this.options.metrics?.lag.remove(this.labels(partition));
      }
      this.consumer.unassign();
    }
  }

  /**
   * Queues `move` after the moves already pending (whether they succeed or fail), unless a
   * revocation comes first: an assignment must never be made after its revocation.
   */
  private afterPendingSeeks(move: () => Promise<void>): void {
    const generation = this.generation;
    this.pendingSeeks = handled(
      this.pendingSeeks.catch(() => undefined).then(() => (generation === this.generation ? move() : undefined)),
    );
  }

  /** (Re)assigns `assigned` at the sink's checkpoints, and notes where each partition turns live. */
  private async moveToCheckpoints(assigned: readonly PartitionKey[]): Promise<void> {
    const byTopic = new Map<string, Map<number, number>>();
    for (const topic of new Set(assigned.map((p) => p.topic))) byTopic.set(topic, await this.sink.checkpoints(topic));
    const positions: Kafka.Assignment[] = [];
    for (const partition of assigned) {
      this.liveFrom.set(key(partition), await this.highWatermark(partition));
      // No checkpoint means an empty read model (new, or cleared for a rebuild): start from the beginning.
      positions.push({ ...partition, offset: byTopic.get(partition.topic)?.get(partition.partition) ?? OFFSET_BEGINNING });
    }
    this.consumer.assign(positions);
    // Until the end of each partition is reached (its eof), the read model lags behind it.
    for (const partition of assigned) this.behind.add(key(partition));
    this.assignedOnce = true;
  }

  private labels({ topic, partition }: PartitionKey): { projection: string; topic: string; partition: string } {
    return { projection: this.options.name, topic, partition: String(partition) };
  }

  private highWatermark({ topic, partition }: PartitionKey): Promise<number> {
    return new Promise((resolve, reject) => {
      this.consumer.queryWatermarkOffsets(topic, partition, 5_000, (error, offsets) =>
        error ? reject(asKafkaError(error)) : resolve(offsets.highOffset),
      );
    });
  }

  private async run(): Promise<void> {
    // consume(n) returns early only when records stop arriving: n bounds how long a steady stream is held.
    const batchSize = this.options.batchSize ?? 64;
    while (this.running) {
      try {
        await this.pendingSeeks;
        await this.verifySink();
        const messages = await consume(this.consumer, batchSize, CONSUME_WAIT_MS);
        if (messages.length > 0) await this.handle(messages);
      } catch (error) {
        this.logger.warn({ err: error, projection: this.options.name }, "projection batch (or check of its checkpoints) failed; retrying from the checkpoints");
        await sleep(500);
        this.afterPendingSeeks(() => this.moveToCheckpoints(this.owned));
      }
    }
  }

  private async verifySink(): Promise<void> {
    // Without partitions the sink's expectations are those of partitions given away: the next assignment renews them.
    if (this.sink.verify === undefined || this.owned.length === 0 || Date.now() < this.nextVerify) return;
    this.nextVerify = Date.now() + VERIFY_INTERVAL_MS;
    await this.sink.verify();
  }

  private async handle(messages: readonly Kafka.Message[]): Promise<void> {
    const byPartition = new Map<string, Kafka.Message[]>();
    for (const message of messages) {
      const id = key(message);
      let batch = byPartition.get(id);
      if (batch === undefined) byPartition.set(id, (batch = []));
      batch.push(message);
    }
    const commits: Kafka.TopicPartitionOffset[] = [];
    let failure: { error: unknown } | undefined;
    const handlePartition = async (batch: readonly Kafka.Message[]) => {
      try {
        commits.push(await this.handlePartition(batch));
      } catch (error) {
        failure ??= { error };
      }
    };
    if (this.options.parallelPartitions) {
      await Promise.all([...byPartition.values()].map(handlePartition));
    } else {
      for (const batch of byPartition.values()) {
        await handlePartition(batch);
        if (failure !== undefined) break;
      }
    }
    if (commits.length > 0) this.consumer.commit(commits);
    if (failure !== undefined) throw failure.error;
  }

  /** Applies one partition's records, then runs the after-apply step; returns the offset to commit. */
  private async handlePartition(batch: readonly Kafka.Message[]): Promise<Kafka.TopicPartitionOffset> {
    const first = batch[0]!;
    const records: ConsumedRecord[] = [];
    for (const message of batch) {
      const record = await this.decode(message);
      if (record) records.push(record);
    }
    const applied = records.length > 0 ? await this.sink.apply(first.topic, first.partition, records) : [];
    const last = batch[batch.length - 1]!;
    this.observe(last, applied.length);
    if (applied.length > 0) {
      const catchingUp = last.offset + 1 < (this.liveFrom.get(key(first)) ?? 0);
      await this.afterApply(applied, { catchingUp }).catch((error: unknown) =>
        this.logger.warn({ err: error, projection: this.options.name }, "after-apply step failed"),
      );
    }
    return { topic: last.topic, partition: last.partition, offset: last.offset + 1 };
  }

  private observe(last: Kafka.Message, applied: number): void {
    const { metrics } = this.options;
    if (metrics === undefined) return;
    if (applied > 0) metrics.events.inc({ projection: this.options.name }, applied);
    try {
      // The watermark librdkafka cached from its last fetch: no round trip per batch.
      const { highOffset } = this.consumer.getWatermarkOffsets(last.topic, last.partition);
      metrics.lag.set(this.labels(last), Math.max(0, highOffset - (last.offset + 1)));
    } catch (error) {
      // A metric must never fail a batch that committed.
      this.logger.debug({ err: error, projection: this.options.name }, "no cached watermark for the lag gauge");
    }
  }

  private async decode(message: Kafka.Message): Promise<ConsumedRecord | undefined> {
    try {
      return await decodeMessage(this.codec, message);
    } catch (error) {
      this.logger.error(
        { err: error, projection: this.options.name, topic: message.topic, partition: message.partition, offset: message.offset },
        "skipping an undecodable event",
      );
      await this.options.deadLetter?.(message, error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
  }
}
