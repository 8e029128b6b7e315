import Kafka from "node-rdkafka";
import { consumerSettings } from "../../infra/kafka/consumer-settings.js";
import type { Registry } from "prom-client";
import type { CommandMeta } from "../contract/generated/avro-types.js";
import { loadSchemaCatalog } from "../contract/schema-catalog.js";
import { TOPICS, type CommandContext } from "../contract/topics.js";
import type { CommandEnvelope, EventEnvelope } from "../domain/decider.js";
import { AvroEncodeError, type AvroCodec } from "../../infra/avro/avro-codec.js";
import { createKafkajs } from "../../infra/kafka/kafkajs-client.js";
import { RecordProducer, type OutgoingRecord } from "../../infra/kafka/record-producer.js";
import type { Logger } from "../../infra/log/logger.js";
import { DEFAULT_DEDUPE_WINDOW, SnapshotFormatError, type AggregateSnapshot } from "./aggregate-snapshot.js";
import { ChangelogCodec } from "./changelog-codec.js";
import { ChangelogReader, RestoreInterrupted } from "./changelog-reader.js";
import { internalFailure } from "./command-outcome.js";
import { CommandDecoder, type DecodedRecord } from "./command-decoder.js";
import { stepCommand, type StepDefinition } from "./command-step.js";
import { deadLetterRecord, type DeadLetterReason } from "./dead-letter.js";
import type { ProcessorDefinition } from "./processor-definition.js";
import { FatalProcessorError, RetryBatchError } from "./processor-errors.js";
import { processorMetrics, type CommandCount, type ProcessorMetrics } from "./processor-metrics.js";
import type { CommandReply, ReplyPublisher } from "./reply-publisher.js";
import { TimerSchedule, type ScheduledTimer } from "./timer-schedule.js";
import {
  asKafkaError,
  classifyTransactionError,
  committed,
  connect,
  consume,
  disconnect,
  ERRORS,
  partitionCount,
  seek,
  sleep,
} from "../../infra/kafka/rdkafka-calls.js";
import { TransactionalProducer } from "./transactional-producer.js";

/** What a processor runtime is built from (one composition root per role provides them). */
export interface ProcessorDeps {
  /** Where and as whom to connect; topic names get `topicPrefix`. */
  readonly kafka: { readonly brokers: readonly string[]; readonly clientId: string; readonly topicPrefix: string };
  /** This process's node id: part of the transactional id. */
  readonly nodeId: string;
  /** A codec that knows (and has registered) every record of the consumed contexts: `bootstrapContract` returns one. */
  readonly codec: AvroCodec;
  /** Carries each command's outcome to the gateway that sent it, after its batch committed. */
  readonly replies: ReplyPublisher;
  readonly logger: Logger;
  readonly registry: Registry;
}

/** Tuning; the defaults suit production. */
export interface ProcessorOptions {
  /**
   * Commands per batch, i.e. per transaction, while the processor keeps up (default 32, see
   * DEFAULTS). A batch is whatever has arrived, up to this; while batches come back full at once
   * (a backlog) the bound doubles, up to `maxBatchSize`, and falls back once one does not.
   */
  readonly batchSize?: number;
  /** The bound a backlog may grow batches to (default 512). */
  readonly maxBatchSize?: number;
  /** Consumer group session timeout: how soon the partitions of a dead instance move (default 10 s). */
  readonly sessionTimeoutMs?: number;
  /** How long a transaction may stay open before the coordinator aborts it, e.g. after a crash (default 10 s). */
  readonly transactionTimeoutMs?: number;
  /**
   * Tells apart several runtimes of one definition in one process (tests); becomes part of the
   * transactional id. Two live runtimes with the same node id and instance id fence each other.
   */
  readonly instanceId?: string;
}

/** A running processor. */
export interface ProcessorHandle {
  /** Finishes the batch in flight (its transaction commits, its replies go out), then leaves the group and disconnects. Idempotent. */
  close(): Promise<void>;
  /** Settles when the runtime has stopped: `undefined` after `close()`, the error when it stopped on its own (fenced, fatal). */
  readonly stopped: Promise<Error | undefined>;
  /** The topic partitions this instance consumes now (restored and assigned); empty once closed. For diagnostics and tests. */
  assignment(): readonly Kafka.TopicPartition[];
}

/**
 * Starts the processor of one aggregate: consumes the `quikapp.<context>.commands` topic of every
 * context of the definition in the consumer group `quikchat.<owner>.processor` (`owner`:
 * `contexts[0]`), decides each command against its aggregate's state and writes, in one Kafka
 * transaction per batch, the events (to the `quikapp.<context>.events` of the context declaring
 * each event type, keyed by aggregate id), the new state of every aggregate the batch touched
 * (`quikapp.<owner>.state`, compacted, same partition number as the command), dead letters (to
 * the `quikapp.<context>.dlq` of the command's context) and the consumed offsets of every topic
 * (KIP-447: with the consumer's group metadata, so an instance that lost its partitions cannot
 * commit). After the commit, each command's outcome goes to `deps.replies`, addressed to `meta.replyTo`.
 *
 * The runtime owns partition numbers: partition `n` of every commands topic feeds the aggregates
 * of changelog partition `n`. With several contexts the group uses the `range` assignor, which
 * gives each member the same partition numbers of co-partitioned topics; a partition number of
 * which the group assigned only some topics is left unconsumed (and logged as an error) rather
 * than decided against a state another instance may be changing.
 *
 * Guarantees: every command is decided exactly once into the event log (a crash anywhere
 * redoes the uncommitted batch, which yields identical events); per-aggregate order is each
 * command topic's order (between topics: the order in which they were consumed); a retried
 * `commandId` is answered with its first outcome while it is in the aggregate's dedupe window,
 * and produces nothing. Replies are at most once.
 *
 * Timers (`definition.timer`): the runtime keeps the next deadline of every aggregate it owns,
 * computed for each restored aggregate when partitions are assigned and for each aggregate a
 * batch changed once that batch has committed, and forgotten with revoked partitions and on
 * close. When a deadline passes (by this instance's clock), the scheduled command is appended,
 * outside any transaction, to the commands topic of the context declaring its type (key: the
 * aggregate id) and is decided when it comes back through the log. A fired timer is forgotten
 * until the aggregate's next computation; a failed append is retried about every second. So a
 * timer command may arrive late or twice (twice with the same commandId): deciders check the
 * deadline, which is also the command's `issuedAt`.
 *
 * Resolves once connected and subscribed; partitions are restored and processed as the group
 * assigns them. Rejects when the topics are missing or the commands topics and the changelog
 * differ in partition count.
 */
export async function startProcessor<Ctx extends CommandContext, S>(
  definition: ProcessorDefinition<Ctx, S>,
  deps: ProcessorDeps,
  options: ProcessorOptions = {},
): Promise<ProcessorHandle> {
  // The runtime moves commands and events as opaque envelopes; the contexts' unions matter to the decider only.
  const erased: unknown = definition;
  const runtime = new ProcessorRuntime<S>(erased as RuntimeDefinition<S>, deps, options);
  await runtime.start();
  return { close: () => runtime.close(), stopped: runtime.stopped, assignment: () => runtime.assignment() };
}

/** The definition with the contexts' unions erased to envelopes: the runtime only moves them. */
interface RuntimeDefinition<S> extends StepDefinition<CommandEnvelope, EventEnvelope, S> {
  readonly contexts: readonly [CommandContext, ...CommandContext[]];
  aggregateId?(command: CommandEnvelope): string;
  readonly dedupe?: ProcessorDefinition<CommandContext, S>["dedupe"];
  timer?(state: S, aggregateId: string): RuntimeScheduledCommand | undefined;
  snapshotParts?(state: S): readonly object[];
}

/** A `ScheduledCommand` with the contexts' unions erased. */
interface RuntimeScheduledCommand {
  readonly at: number;
  readonly workspaceId: string;
  readonly command: { readonly type: string; readonly data: object };
}

/** Where a command of a given type is appended: its record name and the context whose commands topic carries it. */
interface CommandRoute {
  readonly fullName: string;
  readonly context: CommandContext;
}

type RebalanceEvent = { readonly kind: "assign" | "revoke"; readonly assignment: readonly Kafka.TopicPartition[] };

/** The topics of one consumed context (prefix included). */
interface ContextTopics {
  readonly commands: string;
  readonly events: string;
  readonly dlq: string;
}

/** What one batch did, applied to metrics and replies only once its transaction has committed. */
interface BatchEffects {
  readonly replies: CommandReply[];
  /** Per context of the command. */
  readonly counts: Map<CommandContext, Record<CommandCount, number>>;
  readonly deadLetters: Map<CommandContext, number>;
}

/** The snapshot each touched aggregate had before the batch (undefined: none), to roll an aborted batch back. */
type Journal<S> = Map<number, Map<string, AggregateSnapshot<S> | undefined>>;

/**
 * batchSize bounds more than the transaction: node-rdkafka's consume(n) keeps reading while
 * records keep arriving within a millisecond of each other, so under a steady stream a call
 * returns only once it holds n. 32 keeps that wait to tens of milliseconds at hundreds of
 * commands per second (500 at once held commands for up to a second at 500/s). A backlog is
 * another matter: its records are already fetched, a call returns at once with n of them, and a
 * transaction's round trips cost the same whatever its size, so the bound grows while batches
 * come back full at once (a full batch that took longer was a steady stream, which a larger
 * bound would only hold longer).
 */
const DEFAULTS = { batchSize: 32, maxBatchSize: 512, sessionTimeoutMs: 10_000, transactionTimeoutMs: 10_000 };
/** A consume call that returns a full batch within this was served from records already fetched. */
const BACKLOG_CONSUME_MS = 5;
const CONSUME_TIMEOUT_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/**
 * librdkafka refuses larger records (`message.max.bytes`), which would fail every retry of the
 * batch: such an event dead-letters its command instead. (A changelog snapshot cannot be refused
 * per command: an aggregate's state must stay below the changelog's `max.message.bytes`.)
 */
const MAX_RECORD_BYTES = 1_000_000 - 1_024;
/** The actor of the commands timers issue. */
const TIMER_ACTOR = "system:timer";
const TIMER_RETRY_MS = 1_000;
/** setTimeout fires at once for longer delays; a later deadline is armed in steps of this. */
const MAX_TIMEOUT_MS = 2_147_483_647;

class ProcessorRuntime<S> {
  readonly stopped: Promise<Error | undefined>;
  private resolveStopped!: (error: Error | undefined) => void;

  private readonly logger: Logger;
  /** The context owning the changelog, the group and the transactional id. */
  private readonly owner: CommandContext;
  private readonly topics: ReadonlyMap<CommandContext, ContextTopics>;
  private readonly commandTopics: readonly string[];
  private readonly stateTopic: string;
  private readonly batchSize: number;
  private readonly maxBatchSize: number;
  /** The bound of the next batch: `batchSize`, doubled after each full batch served at once, up to `maxBatchSize`. */
  private nextBatchSize: number;
  private readonly window;
  private readonly metrics: ProcessorMetrics;
  private readonly decoder: CommandDecoder;
  private readonly consumer: Kafka.KafkaConsumer;
  private readonly producer: TransactionalProducer;
  private readonly changelog: ChangelogReader;
  /** Writes and reads the changelog records of the owned aggregates (snapshots in parts). */
  private readonly snapshots: ChangelogCodec<S>;
  /** Appends timer commands; only when the definition has timers. */
  private readonly timerProducer: RecordProducer | undefined;
  private readonly timerRoutes: ReadonlyMap<string, CommandRoute>;

  /** State of every aggregate of the partitions this instance owns and has restored. */
  private readonly partitions = new Map<number, Map<string, AggregateSnapshot<S>>>();
  /** Rebalances the loop has not handled yet (librdkafka waits for our assign/unassign call). */
  private readonly rebalances: RebalanceEvent[] = [];
  /** Once the loop has stopped, rebalances are answered at once, without restoring anything. */
  private loopStopped = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private fatal: Error | undefined;
  private failures = 0;
  /**
   * The next deadline of every owned aggregate that has one. `dueAt` is when to issue the
   * command: its deadline, or a retry time after a failed append.
   */
  private readonly timers = new TimerSchedule<RuntimeScheduledCommand>();
  /** One timeout, armed for the earliest deadline (`armedFor`). */
  private timeout: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private readonly timerSends = new Set<Promise<void>>();

  constructor(
    private readonly definition: RuntimeDefinition<S>,
    private readonly deps: ProcessorDeps,
    options: ProcessorOptions,
  ) {
    const { kafka } = deps;
    const contexts = [...new Set(definition.contexts)];
    const owner = definition.contexts[0];
    this.owner = owner;
    const prefix = kafka.topicPrefix;
    this.topics = new Map(
      contexts.map((context) => {
        const topics = TOPICS[context];
        return [context, { commands: prefix + topics.commands, events: prefix + topics.events, dlq: prefix + topics.dlq }];
      }),
    );
    this.commandTopics = [...this.topics.values()].map((topics) => topics.commands);
    this.stateTopic = prefix + TOPICS[owner].state;
    this.logger = deps.logger.child({ component: "processor", context: owner, ...(contexts.length > 1 ? { contexts } : {}) });
    this.batchSize = options.batchSize ?? DEFAULTS.batchSize;
    this.maxBatchSize = Math.max(this.batchSize, options.maxBatchSize ?? DEFAULTS.maxBatchSize);
    this.nextBatchSize = this.batchSize;
    this.window = definition.dedupe ?? DEFAULT_DEDUPE_WINDOW;
    this.snapshots = new ChangelogCodec<S>(definition.snapshotParts?.bind(definition));
    this.metrics = processorMetrics(deps.registry);
    this.decoder = new CommandDecoder(
      deps.codec,
      new Map([...this.topics].map(([context, topics]) => [topics.commands, context])),
      definition.aggregateId?.bind(definition),
    );
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));

    const groupId = `${prefix}quikchat.${owner}.processor`;
    const instance = options.instanceId === undefined ? "" : `.${options.instanceId}`;
    const clientId = `${kafka.clientId}-${owner}-processor`;
    this.producer = new TransactionalProducer(
      {
        brokers: kafka.brokers,
        clientId,
        transactionalId: `${groupId}.${deps.nodeId}${instance}`,
        transactionTimeoutMs: options.transactionTimeoutMs ?? DEFAULTS.transactionTimeoutMs,
      },
      this.logger,
    );
    this.changelog = new ChangelogReader(
      { brokers: kafka.brokers, clientId: `${clientId}-restore`, groupId: `${groupId}.restore`, topic: this.stateTopic },
      this.logger,
    );
    this.consumer = new Kafka.KafkaConsumer(
      consumerSettings({ brokers: kafka.brokers, clientId, groupId }, {
        "enable.auto.offset.store": false,
        "session.timeout.ms": options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs,
        // One topic: partitions that stay put keep flowing (and keep their state) through a
        // rebalance. Several: every assignor but range places each topic's partitions on its own,
        // while one aggregate's commands on every topic must reach the same member. Range gives
        // each member the same partition numbers of topics with equal partition counts (it is
        // eager: a rebalance revokes and restores every partition).
        "partition.assignment.strategy": contexts.length > 1 ? "range" : "cooperative-sticky",
        rebalance_cb: (error: Kafka.LibrdKafkaError | undefined, assignment: Kafka.TopicPartition[]) =>
          this.onRebalance(error, assignment),
      }),
      { "auto.offset.reset": "earliest" },
    );
    this.consumer.on("event.error", (error) => this.logger.warn({ err: asKafkaError(error) }, "kafka consumer error"));
    this.timerRoutes = definition.timer === undefined ? new Map() : commandRoutes(contexts);
    this.timerProducer =
      definition.timer === undefined
        ? undefined
        : new RecordProducer(createKafkajs({ brokers: kafka.brokers, clientId: `${clientId}-timers` }, this.logger), deps.codec);
  }

  async start(): Promise<void> {
    try {
      await this.producer.start();
      const partitioned = [...this.commandTopics, this.stateTopic];
      const others = [...this.topics.values()].flatMap((topics) => [topics.events, topics.dlq]);
      const counts = await Promise.all(
        [...partitioned, ...others].map((topic) => settledPartitionCount(this.producer.client, topic)),
      ).catch((error: unknown) => {
        throw new Error(`${asKafkaError(error).message} (run "quikchat bootstrap" to create the topics)`, { cause: error });
      });
      if (new Set(counts.slice(0, partitioned.length)).size > 1) {
        const found = partitioned.map((topic, index) => `${topic}: ${counts[index]}`).join(", ");
        throw new Error(`the commands topics and the changelog must have equal partition counts (co-partitioned); found ${found}`);
      }
      await this.changelog.start();
      await this.timerProducer?.connect();
      await connect(this.consumer, 10_000);
      this.consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS);
      this.consumer.subscribe([...this.commandTopics]);
    } catch (error) {
      await Promise.all([disconnect(this.consumer), this.changelog.close(), this.producer.close(), this.timerProducer?.close()]);
      throw error;
    }
    this.logger.info({ topics: this.commandTopics, partitions: "assigned by the group" }, "processor started");
    this.loop = this.run().then(() => {
      if (this.fatal !== undefined) void this.close();
    });
  }

  assignment(): Kafka.TopicPartition[] {
    if (!this.consumer.isConnected()) return [];
    return this.consumer.assignments().map(({ topic, partition }) => ({ topic, partition }));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.loopStopped = true;
    // Rebalances the loop did not get to still expect an answer before librdkafka can close.
    for (const event of this.rebalances.splice(0)) this.answerRebalance(event);
    this.timers.clear();
    this.armTimer();
    await disconnect(this.consumer);
    this.partitions.clear();
    // Timer commands already handed to the producer go out; none is issued any more.
    await Promise.allSettled(this.timerSends);
    await Promise.all([this.changelog.close(), this.producer.close(), this.timerProducer?.close()]);
    if (this.fatal === undefined) this.logger.info("processor stopped");
    this.resolveStopped(this.fatal);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.applyRebalances();
        if (this.stopping) break;
        const began = performance.now();
        const messages = await consume(this.consumer, this.nextBatchSize);
        const backlog = messages.length >= this.nextBatchSize && performance.now() - began < BACKLOG_CONSUME_MS;
        this.nextBatchSize = backlog ? Math.min(this.maxBatchSize, 2 * this.nextBatchSize) : this.batchSize;
        await this.applyRebalances();
        const batch = messages.filter((message) => this.partitions.has(message.partition));
        if (batch.length === 0) continue;
        await this.processBatch(batch);
        this.failures = 0;
      } catch (error) {
        if (error instanceof FatalProcessorError) {
          this.fatal = error;
          this.logger.error({ err: error }, "processor stopping: another instance will take its partitions over");
          return;
        }
        if (error instanceof RestoreInterrupted) continue;
        await this.backOff(error);
      }
    }
  }

  private async backOff(error: unknown): Promise<void> {
    this.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.failures - 1));
    this.logger.warn({ err: error, retryInMs: delay }, "processor batch failed; retrying");
    await sleep(delay);
  }

  // ---- rebalances

  /**
   * node-rdkafka calls this on the JavaScript thread some time after librdkafka asked; the group
   * waits until we call assign/unassign. The loop answers between batches (so no transaction is
   * open), restoring newly assigned partitions first; once the loop has stopped, at once.
   */
  private onRebalance(error: Kafka.LibrdKafkaError | undefined, assignment: Kafka.TopicPartition[]): void {
    const kind = error?.code === ERRORS.ERR__ASSIGN_PARTITIONS ? "assign" : "revoke";
    if (error?.code !== ERRORS.ERR__ASSIGN_PARTITIONS && error?.code !== ERRORS.ERR__REVOKE_PARTITIONS) {
      this.logger.error({ err: error }, "rebalance failed; giving the partitions up");
    }
    const event: RebalanceEvent = { kind, assignment: assignment.map(({ topic, partition }) => ({ topic, partition })) };
    if (this.loopStopped) this.answerRebalance(event);
    else this.rebalances.push(event);
  }

  private async applyRebalances(): Promise<void> {
    while (this.rebalances.length > 0) {
      let event = this.rebalances[0]!;
      if (event.kind === "assign") {
        const owned = this.wholePartitions(event.assignment);
        const states = await this.restore(owned);
        for (const [partition, aggregates] of states) this.partitions.set(partition, aggregates);
        this.scheduleRestored(states);
        event = { kind: "assign", assignment: event.assignment.filter(({ partition }) => owned.includes(partition)) };
      }
      this.rebalances.shift();
      this.answerRebalance(event);
    }
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
      if (this.commandTopics.every((topic) => topics.has(topic))) whole.push(partition);
      else this.logger.error({ partition, assigned: [...topics] }, "partition number assigned on some commands topics only; leaving it unconsumed");
    }
    return whole.sort((a, b) => a - b);
  }

  private answerRebalance(event: RebalanceEvent): void {
    const partitions = [...new Set(event.assignment.map(({ partition }) => partition))].sort((a, b) => a - b);
    const cooperative = this.consumer.rebalanceProtocol() === "COOPERATIVE";
    try {
      if (event.kind === "assign") {
        if (cooperative) this.consumer.incrementalAssign([...event.assignment]);
        else this.consumer.assign([...event.assignment]);
      } else {
        for (const partition of partitions) this.partitions.delete(partition);
        this.snapshots.forget(partitions);
        this.timers.dropPartitions(partitions);
        this.armTimer();
        if (cooperative) {
          // Partitions left unconsumed at assignment were never assigned: unassigning them would fail.
          const assigned = new Set(this.consumer.assignments().map(({ topic, partition }) => `${topic}\0${partition}`));
          this.consumer.incrementalUnassign(event.assignment.filter(({ topic, partition }) => assigned.has(`${topic}\0${partition}`)));
        } else {
          this.consumer.unassign();
        }
      }
      this.logger.info({ partitions }, event.kind === "assign" ? "partitions assigned" : "partitions revoked");
    } catch (error) {
      // Only when the consumer is already disconnected: nothing is assigned any more.
      this.logger.warn({ err: error, partitions }, `could not ${event.kind} partitions`);
    }
  }

  /**
   * The state of `partitions` as the last committed transaction left it. First waits until no
   * transaction carrying offsets of these partitions is open (the previous owner's last batch:
   * KIP-447 stable offsets), so that every state record it committed is readable; then reads
   * the changelog partitions to their end.
   */
  private async restore(partitions: readonly number[]): Promise<Map<number, Map<string, AggregateSnapshot<S>>>> {
    if (partitions.length === 0) return new Map();
    const started = performance.now();
    await this.awaitStableOffsets(partitions);
    const states = new Map<number, Map<string, AggregateSnapshot<S>>>();
    try {
      const values = await this.changelog.read(partitions, () => this.stopping);
      for (const [partition, latest] of values) states.set(partition, this.snapshots.restore(partition, latest));
    } catch (error) {
      if (error instanceof SnapshotFormatError) {
        throw new FatalProcessorError(`cannot restore ${this.stateTopic}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    this.metrics.restoreSeconds.observe({ context: this.owner }, seconds);
    const aggregates = [...states.values()].reduce((sum, partition) => sum + partition.size, 0);
    this.logger.info({ partitions, aggregates, ms: Math.round(seconds * 1000) }, "restored partition state from the changelog");
    return states;
  }

  private async awaitStableOffsets(partitions: readonly number[]): Promise<void> {
    const topicPartitions = this.commandTopics.flatMap((topic) => partitions.map((partition) => ({ topic, partition })));
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new RestoreInterrupted();
      try {
        const offsets = await committed(this.consumer, topicPartitions, 5_000);
        const unstable = offsets.filter((entry) => entry instanceof Error);
        if (unstable.length === 0) return;
        if (attempt === 1) this.logger.info({ partitions }, "waiting for the previous owner's open transaction to finish");
      } catch (error) {
        if (attempt === 1) this.logger.info({ err: error, partitions }, "waiting for committed offsets");
      }
      await sleep(200);
    }
  }

  // ---- batches

  private async processBatch(messages: readonly Kafka.Message[]): Promise<void> {
    const started = performance.now();
    let decoded: DecodedRecord[];
    try {
      decoded = await Promise.all(messages.map((message) => this.decoder.decode(message)));
    } catch (error) {
      await this.rewind(messages);
      throw error;
    }

    const journal: Journal<S> = new Map();
    let written: (() => void)[] = [];
    const effects: BatchEffects = { replies: [], counts: new Map(), deadLetters: new Map() };
    try {
      await this.producer.begin();
      for (const item of decoded) this.handle(item, journal, effects);
      written = this.produceSnapshots(journal);
      await this.producer.sendOffsets(nextOffsets(messages), this.consumer);
      await this.producer.commit();
    } catch (error) {
      await this.abortBatch(messages, journal, error);
      return;
    }
    for (const commit of written) commit();
    this.rescheduleChanged(journal);

    for (const [context, counts] of effects.counts) {
      for (const [outcome, count] of Object.entries(counts)) {
        if (count > 0) this.metrics.commands.inc({ context, outcome }, count);
      }
    }
    for (const [context, count] of effects.deadLetters) this.metrics.deadLetters.inc({ context }, count);
    await this.deps.replies.publish(effects.replies);
    this.metrics.batchSeconds.observe({ context: this.owner }, (performance.now() - started) / 1000);
  }

  /** Rolls the batch's state changes back, aborts its transaction and rewinds its partitions so that the next consume redoes it. */
  private async abortBatch(messages: readonly Kafka.Message[], journal: Journal<S>, error: unknown): Promise<void> {
    for (const [partition, originals] of journal) {
      const aggregates = this.partitions.get(partition);
      if (aggregates === undefined) continue;
      for (const [id, snapshot] of originals) {
        if (snapshot === undefined) aggregates.delete(id);
        else aggregates.set(id, snapshot);
      }
    }
    const kafkaError = asKafkaError(error);
    if (classifyTransactionError(kafkaError) === "fatal") {
      throw new FatalProcessorError(`transaction failed fatally (fenced by a newer instance?): ${kafkaError.message}`, { cause: error });
    }
    try {
      await this.producer.abort();
    } catch (abortError) {
      throw new FatalProcessorError(`could not abort the transaction: ${asKafkaError(abortError).message}`, { cause: abortError });
    }
    // Before anything else may throw: the next consume must redo the batch, never skip it.
    await this.rewind(messages);
    throw new RetryBatchError(`transaction aborted: ${kafkaError.message}`, { cause: error });
  }

  /** Moves each still-owned topic partition of the batch back to the batch's first offset on it. */
  private async rewind(messages: readonly Kafka.Message[]): Promise<void> {
    const first = new Map<string, Kafka.TopicPartitionOffset>();
    for (const { topic, partition, offset } of messages) {
      const key = `${topic}\0${partition}`;
      if (!first.has(key)) first.set(key, { topic, partition, offset });
    }
    for (const position of first.values()) {
      if (!this.partitions.has(position.partition)) continue;
      try {
        await seek(this.consumer, position, 5_000);
      } catch (error) {
        // Going on would skip the batch's commands: leave the partitions to another instance.
        throw new FatalProcessorError(`cannot rewind ${position.topic}[${position.partition}] to ${position.offset}`, { cause: error });
      }
    }
  }

  /** Decides one command and queues what it writes in the open transaction. Throws only librdkafka errors. */
  private handle(item: DecodedRecord, journal: Journal<S>, effects: BatchEffects): void {
    if (item.kind === "dead") return this.deadLetter(item.context, item.message, item.reason, item.error, item.meta, effects);
    const { message, context, command, aggregateId } = item;
    const meta = command.data.meta;
    const aggregates = this.partitions.get(message.partition)!;
    const before = aggregates.get(aggregateId);
    const step = stepCommand(this.definition, before, command, this.window);
    switch (step.kind) {
      case "duplicate":
        break;
      case "failed":
        return this.deadLetter(context, message, "decide_failed", step.error, meta, effects);
      case "rejected":
        this.apply(journal, message.partition, aggregateId, before, step.snapshot);
        break;
      case "accepted": {
        let records: { topic: string; value: Buffer }[];
        try {
          records = step.events.map((event) => {
            const route = this.decoder.eventRoute(event.type);
            return { topic: this.topicsOf(route.context).events, value: this.deps.codec.encode(route.fullName, event.data) };
          });
          const tooLarge = records.find(({ value }) => value.length > MAX_RECORD_BYTES);
          if (tooLarge !== undefined) throw new Error(`an event of ${tooLarge.value.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte record limit`);
        } catch (error) {
          return this.deadLetter(context, message, "invalid_event", error instanceof Error ? error : new Error(String(error)), meta, effects);
        }
        for (const { topic, value } of records) this.producer.produce({ topic, key: aggregateId, value });
        this.apply(journal, message.partition, aggregateId, before, step.snapshot);
        break;
      }
    }
    countOf(effects, context)[step.kind]++;
    if (meta.replyTo !== null) effects.replies.push({ replyTo: meta.replyTo, outcome: step.outcome });
  }

  private topicsOf(context: CommandContext): ContextTopics {
    const topics = this.topics.get(context);
    if (topics === undefined) throw new Error(`${context} is not a context of this processor`);
    return topics;
  }

  private apply(
    journal: Journal<S>,
    partition: number,
    aggregateId: string,
    before: AggregateSnapshot<S> | undefined,
    after: AggregateSnapshot<S> | undefined,
  ): void {
    if (after === undefined) return;
    let originals = journal.get(partition);
    if (originals === undefined) journal.set(partition, (originals = new Map<string, AggregateSnapshot<S> | undefined>()));
    if (!originals.has(aggregateId)) originals.set(aggregateId, before);
    this.partitions.get(partition)!.set(aggregateId, after);
  }

  private deadLetter(
    context: CommandContext,
    message: Kafka.Message,
    reason: DeadLetterReason,
    error: Error,
    meta: CommandMeta | undefined,
    effects: BatchEffects,
  ): void {
    this.logger.warn(
      { err: error, reason, topic: message.topic, partition: message.partition, offset: message.offset, commandId: meta?.commandId },
      "command sent to the dead-letter topic",
    );
    this.producer.produce(deadLetterRecord(this.topicsOf(context).dlq, message, reason, error));
    countOf(effects, context).failed++;
    effects.deadLetters.set(context, (effects.deadLetters.get(context) ?? 0) + 1);
    if (meta !== undefined && meta.replyTo !== null) effects.replies.push({ replyTo: meta.replyTo, outcome: internalFailure(meta.commandId) });
  }

  /** One changelog record per aggregate the batch changed, on the partition number of its commands. */
  /** Appends the changelog records of every aggregate the batch touched; returns what to remember once it commits. */
  private produceSnapshots(journal: Journal<S>): (() => void)[] {
    const commits: (() => void)[] = [];
    for (const [partition, originals] of journal) {
      const aggregates = this.partitions.get(partition)!;
      for (const id of originals.keys()) {
        const { records, commit } = this.snapshots.records(partition, id, aggregates.get(id));
        for (const { key, value } of records) this.producer.produce({ topic: this.stateTopic, partition, key, value });
        commits.push(commit);
      }
    }
    return commits;
  }

  // ---- timers

  /** Computes the timer of every aggregate of freshly restored partitions. */
  private scheduleRestored(states: ReadonlyMap<number, ReadonlyMap<string, AggregateSnapshot<S>>>): void {
    if (this.definition.timer === undefined) return;
    for (const [partition, aggregates] of states) {
      for (const [aggregateId, snapshot] of aggregates) this.schedule(partition, aggregateId, snapshot);
    }
    this.armTimer();
  }

  /** Recomputes the timer of every aggregate a committed batch changed. */
  private rescheduleChanged(journal: Journal<S>): void {
    if (this.definition.timer === undefined) return;
    for (const [partition, originals] of journal) {
      const aggregates = this.partitions.get(partition);
      for (const aggregateId of originals.keys()) this.schedule(partition, aggregateId, aggregates?.get(aggregateId));
    }
    this.armTimer();
  }

  private schedule(partition: number, aggregateId: string, snapshot: AggregateSnapshot<S> | undefined): void {
    let scheduled: RuntimeScheduledCommand | undefined;
    try {
      scheduled = snapshot === undefined ? undefined : this.definition.timer?.(snapshot.state, aggregateId);
    } catch (error) {
      // A bug in a pure function: better one aggregate without a timer than a stopped partition.
      this.logger.error({ err: error, partition, aggregateId }, "the timer of an aggregate failed; it has none until it changes again");
    }
    if (scheduled === undefined) this.timers.delete(partition, aggregateId);
    else this.timers.set(partition, aggregateId, scheduled.at, scheduled);
  }

  /** Arms the one timeout for the earliest deadline, unless it already is. */
  private armTimer(): void {
    const earliest = this.stopping ? undefined : this.timers.earliest();
    if (earliest === this.armedFor) return;
    clearTimeout(this.timeout);
    this.timeout = undefined;
    this.armedFor = earliest;
    if (earliest === undefined) return;
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, earliest - Date.now()));
    this.timeout = setTimeout(() => this.fireTimers(), delay);
    // The consumer loop keeps the process alive while the processor runs; deadlines never do.
    this.timeout.unref();
  }

  private fireTimers(): void {
    this.timeout = undefined;
    this.armedFor = undefined;
    if (this.stopping) return;
    for (const timer of this.timers.takeDue(Date.now())) this.issue(timer);
    this.armTimer();
  }

  /** Appends a due timer's command to its commands topic; a failed append is retried in a second. */
  private issue(timer: ScheduledTimer<RuntimeScheduledCommand>): void {
    const { partition, aggregateId } = timer;
    let route: CommandRoute;
    let record: OutgoingRecord;
    try {
      ({ route, record } = this.timerRecord(timer));
    } catch (error) {
      this.logger.error({ err: error, partition, aggregateId }, "the timer of an aggregate names no command of this processor; dropped");
      return;
    }
    const sending = this.timerProducer!.send([record])
      .then(
        () => this.metrics.timerCommands.inc({ context: route.context }),
        (error: unknown) => {
          const commandId = (record.value as { meta: CommandMeta }).meta.commandId;
          if (error instanceof AvroEncodeError) {
            this.logger.error({ err: error, partition, aggregateId, commandId }, "a timer command does not match its schema; dropped");
            return;
          }
          this.logger.warn({ err: error, partition, aggregateId, commandId, retryInMs: TIMER_RETRY_MS }, "could not issue a timer command; retrying");
          this.retryTimer(timer);
        },
      )
      .finally(() => this.timerSends.delete(sending));
    this.timerSends.add(sending);
  }

  private retryTimer(timer: ScheduledTimer<RuntimeScheduledCommand>): void {
    const { partition, aggregateId, value } = timer;
    // Not once the partition is gone, nor over a newer computation of the aggregate's timer.
    if (this.stopping || !this.partitions.has(partition) || this.timers.get(partition, aggregateId) !== undefined) return;
    this.timers.set(partition, aggregateId, Date.now() + TIMER_RETRY_MS, value);
    this.armTimer();
  }

  /** The command a timer issues, with the deterministic meta `ProcessorDefinition.timer` promises. */
  private timerRecord({ aggregateId, value }: ScheduledTimer<RuntimeScheduledCommand>): { route: CommandRoute; record: OutgoingRecord } {
    const { at, workspaceId, command } = value;
    const route = this.timerRoutes.get(command.type);
    if (route === undefined) throw new Error(`${command.type} is not a command of ${[...this.topics.keys()].join(" or ")}`);
    const commandId = `timer:${aggregateId}:${command.type}:${at}`;
    const meta: CommandMeta = { commandId, correlationId: commandId, actorId: TIMER_ACTOR, workspaceId, issuedAt: at, replyTo: null };
    const record = { topic: this.topicsOf(route.context).commands, key: aggregateId, fullName: route.fullName, value: { meta, ...command.data } };
    return { route, record };
  }
}

/**
 * The route of every command of `contexts`, by type.
 * @throws when two of the contexts declare a command of the same name (timer commands are routed by type)
 */
function commandRoutes(contexts: readonly CommandContext[]): Map<string, CommandRoute> {
  const routes = new Map<string, CommandRoute>();
  const consumed = new Set<string>(contexts);
  for (const record of loadSchemaCatalog().filter((entry) => entry.kind === "command" && consumed.has(entry.context))) {
    const taken = routes.get(record.name);
    if (taken !== undefined) throw new Error(`${record.fullName} and ${taken.fullName} share a type name: timer commands are routed by type`);
    routes.set(record.name, { fullName: record.fullName, context: record.context as CommandContext });
  }
  return routes;
}

/** The offsets to commit after `messages`: one past the last record of each topic partition. */
function nextOffsets(messages: readonly Kafka.Message[]): Kafka.TopicPartitionOffset[] {
  const next = new Map<string, Kafka.TopicPartitionOffset>();
  for (const { topic, partition, offset } of messages) next.set(`${topic}\0${partition}`, { topic, partition, offset: offset + 1 });
  return [...next.values()];
}

/** The partition count of `topic`, giving a topic created a moment ago (bootstrap) a few seconds to reach the metadata. */
async function settledPartitionCount(client: Kafka.Producer, topic: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await partitionCount(client, topic, 10_000);
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(500);
    }
  }
}

function countOf(effects: BatchEffects, context: CommandContext): Record<CommandCount, number> {
  let counts = effects.counts.get(context);
  if (counts === undefined) effects.counts.set(context, (counts = { accepted: 0, rejected: 0, duplicate: 0, failed: 0 }));
  return counts;
}
