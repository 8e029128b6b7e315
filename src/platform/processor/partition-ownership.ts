import type Kafka from "node-rdkafka";
import type { Logger } from "../../infra/log/logger.js";
import { committed, ERRORS } from "../../infra/kafka/rdkafka-calls.js";
import { SnapshotFormatError, type AggregateSnapshot } from "./aggregate-snapshot.js";
import type { ChangelogCodec } from "./changelog-codec.js";
import { RestoreInterrupted, type ChangelogReader } from "./changelog-reader.js";
import { FatalProcessorError } from "./processor-errors.js";
import type { ProcessorMetrics } from "./processor-metrics.js";
import type { ProcessorTopics } from "./processor-topics.js";
import type { TimerIssuer } from "./timer-issuer.js";
import { sleep } from "../sleep.js";

/** The state of every aggregate of the partitions this instance owns and has restored, by partition number. */
export type OwnedPartitions<S> = Map<number, Map<string, AggregateSnapshot<S>>>;

export interface PartitionOwnershipDeps<S> {
  /** The group member: answered here on every rebalance. */
  readonly consumer: Kafka.KafkaConsumer;
  readonly changelog: ChangelogReader;
  /** Reads the restored changelog records; forgets what it wrote for revoked partitions. */
  readonly snapshots: ChangelogCodec<S>;
  /** Filled on assignment with the restored state, emptied of revoked partitions. */
  readonly owned: OwnedPartitions<S>;
  /** Learns the restored aggregates and the revoked partitions; only when the definition has timers. */
  readonly timers: TimerIssuer<S> | undefined;
  readonly topics: ProcessorTopics;
  /** Aborted when the processor stops: a restore in progress gives up. */
  readonly signal: AbortSignal;
  readonly metrics: ProcessorMetrics;
  readonly logger: Logger;
}

type RebalanceEvent = { readonly kind: "assign" | "revoke"; readonly assignment: readonly Kafka.TopicPartition[] };

/**
 * Which partitions this instance owns, and their aggregates' state.
 *
 * The runtime owns partition numbers: partition `n` of every commands topic feeds the aggregates
 * of changelog partition `n`. With several contexts the group uses the `range` assignor, which
 * gives each member the same partition numbers of co-partitioned topics; a partition number of
 * which the group assigned only some topics is left unconsumed (and logged as an error) rather
 * than decided against a state another instance may be changing.
 *
 * node-rdkafka calls {@link onRebalance} on the JavaScript thread some time after librdkafka
 * asked; the group waits until we call assign/unassign. The consume loop answers between batches
 * ({@link applyRebalances}, so no transaction is open), restoring newly assigned partitions
 * first; once the loop has stopped, rebalances are answered at once ({@link answerAtOnce}).
 */
export class PartitionOwnership<S> {
  /** Rebalances the loop has not handled yet (librdkafka waits for our assign/unassign call). */
  private readonly rebalances: RebalanceEvent[] = [];
  /** Once the loop has stopped, rebalances are answered at once, without restoring anything. */
  private loopStopped = false;
  /** Whether the group has given this member its partitions (perhaps none) at least once. */
  private assignedOnce = false;

  constructor(private readonly deps: PartitionOwnershipDeps<S>) {}

  /**
   * Whether this instance decides commands: it answered its group's assignment at least once
   * (restoring what it got) and no rebalance waits to be answered.
   */
  ready(): boolean {
    return this.assignedOnce && this.rebalances.length === 0 && !this.loopStopped;
  }

  /** Whether this instance owns (and has restored) partition number `partition`. */
  owns(partition: number): boolean {
    return this.deps.owned.has(partition);
  }

  /** The consumer's `rebalance_cb`. */
  onRebalance(error: Kafka.LibrdKafkaError | undefined, assignment: Kafka.TopicPartition[]): void {
    const kind = error?.code === ERRORS.ERR__ASSIGN_PARTITIONS ? "assign" : "revoke";
    if (error?.code !== ERRORS.ERR__ASSIGN_PARTITIONS && error?.code !== ERRORS.ERR__REVOKE_PARTITIONS) {
      this.deps.logger.error({ err: error }, "rebalance failed; giving the partitions up");
    }
    const event: RebalanceEvent = { kind, assignment: assignment.map(({ topic, partition }) => ({ topic, partition })) };
    if (this.loopStopped) this.answerRebalance(event);
    else this.rebalances.push(event);
  }

  /**
   * Answers the rebalances received since the last call, in order, restoring newly assigned
   * partitions first. Between batches only.
   * @throws RestoreInterrupted when the processor stops during a restore; FatalProcessorError when the changelog cannot be read
   */
  async applyRebalances(): Promise<void> {
    while (this.rebalances.length > 0) {
      let event = this.rebalances[0]!;
      if (event.kind === "assign") {
        const owned = this.wholePartitions(event.assignment);
        const states = await this.restore(owned);
        for (const [partition, aggregates] of states) this.deps.owned.set(partition, aggregates);
        this.deps.timers?.scheduleRestored(states);
        event = { kind: "assign", assignment: event.assignment.filter(({ partition }) => owned.includes(partition)) };
      }
      this.rebalances.shift();
      this.answerRebalance(event);
    }
  }

  /** The loop has stopped: answers the rebalances it did not get to, and every later one, at once. */
  answerAtOnce(): void {
    this.loopStopped = true;
    // Rebalances the loop did not get to still expect an answer before librdkafka can close.
    for (const event of this.rebalances.splice(0)) this.answerRebalance(event);
  }

  /**
   * The partition numbers of which `assignment` holds every commands topic. The others are never
   * consumed: another member may own the rest of their topics, and with it their aggregates.
   * Only a group whose members subscribe to different topics (e.g. during an upgrade) gets here.
   */
  private wholePartitions(assignment: readonly Kafka.TopicPartition[]): number[] {
    const topicsOf = new Map<number, Set<string>>();
    for (const { topic, partition } of assignment) {
      let topics = topicsOf.get(partition);
      if (topics === undefined) topicsOf.set(partition, (topics = new Set()));
      topics.add(topic);
    }
    const whole: number[] = [];
    for (const [partition, topics] of topicsOf) {
      if (this.deps.topics.commands.every((topic) => topics.has(topic))) whole.push(partition);
      else this.deps.logger.error({ partition, assigned: [...topics] }, "partition number assigned on some commands topics only; leaving it unconsumed");
    }
    return whole.sort((a, b) => a - b);
  }

  private answerRebalance(event: RebalanceEvent): void {
    const { consumer, logger } = this.deps;
    const partitions = [...new Set(event.assignment.map(({ partition }) => partition))].sort((a, b) => a - b);
    const cooperative = consumer.rebalanceProtocol() === "COOPERATIVE";
    try {
      if (event.kind === "assign") {
        if (cooperative) consumer.incrementalAssign([...event.assignment]);
        else consumer.assign([...event.assignment]);
        this.assignedOnce = true;
      } else {
        for (const partition of partitions) this.deps.owned.delete(partition);
        this.deps.snapshots.forget(partitions);
        this.deps.timers?.dropPartitions(partitions);
        if (cooperative) {
          // Partitions left unconsumed at assignment were never assigned: unassigning them would fail.
          const assigned = new Set(consumer.assignments().map(({ topic, partition }) => `${topic}\0${partition}`));
          consumer.incrementalUnassign(event.assignment.filter(({ topic, partition }) => assigned.has(`${topic}\0${partition}`)));
        } else {
          consumer.unassign();
        }
      }
      logger.info({ partitions }, event.kind === "assign" ? "partitions assigned" : "partitions revoked");
    } catch (error) {
      // Only when the consumer is already disconnected: nothing is assigned any more.
      logger.warn({ err: error, partitions }, `could not ${event.kind} partitions`);
    }
  }

  /**
   * The state of `partitions` as the last committed transaction left it. First waits until no
   * transaction carrying offsets of these partitions is open (the previous owner's last batch:
   * KIP-447 stable offsets), so that every state record it committed is readable; then reads
   * the changelog partitions to their end.
   */
  private async restore(partitions: readonly number[]): Promise<OwnedPartitions<S>> {
    if (partitions.length === 0) return new Map();
    const { changelog, snapshots, signal, topics } = this.deps;
    const started = performance.now();
    await this.awaitStableOffsets(partitions);
    const states: OwnedPartitions<S> = new Map();
    try {
      const values = await changelog.read(partitions, () => signal.aborted);
      for (const [partition, latest] of values) states.set(partition, snapshots.restore(partition, latest));
    } catch (error) {
      if (error instanceof SnapshotFormatError) {
        throw new FatalProcessorError(`cannot restore ${topics.state}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    this.deps.metrics.restoreSeconds.observe({ context: topics.owner }, seconds);
    const aggregates = [...states.values()].reduce((sum, partition) => sum + partition.size, 0);
    this.deps.logger.info({ partitions, aggregates, ms: Math.round(seconds * 1000) }, "restored partition state from the changelog");
    return states;
  }

  private async awaitStableOffsets(partitions: readonly number[]): Promise<void> {
    const topicPartitions = this.deps.topics.commands.flatMap((topic) => partitions.map((partition) => ({ topic, partition })));
    for (let attempt = 1; ; attempt++) {
      if (this.deps.signal.aborted) throw new RestoreInterrupted();
      try {
        const offsets = await committed(this.deps.consumer, topicPartitions, 5_000);
        const unstable = offsets.filter((entry) => entry instanceof Error);
        if (unstable.length === 0) return;
        if (attempt === 1) this.deps.logger.info({ partitions }, "waiting for the previous owner's open transaction to finish");
      } catch (error) {
        if (attempt === 1) this.deps.logger.info({ err: error, partitions }, "waiting for committed offsets");
      }
      await sleep(200);
    }
  }
}
