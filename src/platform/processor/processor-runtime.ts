import Kafka from "node-rdkafka";
import type { Registry } from "prom-client";
import type { CommandContext } from "../contract/topics.js";
import type { CommandEnvelope, EventEnvelope } from "../domain/decider.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import { consumerSettings } from "../../infra/kafka/consumer-settings.js";
import { reportConsumerLag, STATISTICS_INTERVAL_MS } from "../../infra/kafka/consumer-lag.js";
import { asKafkaError, connect, disconnect, partitionCount } from "../../infra/kafka/rdkafka-calls.js";
import type { Logger } from "../../infra/log/logger.js";
import { DEFAULT_DEDUPE_WINDOW } from "./aggregate-snapshot.js";
import { BatchTransaction } from "./batch-transaction.js";
import { ChangelogCodec } from "./changelog-codec.js";
import { ChangelogReader } from "./changelog-reader.js";
import { CommandDecoder } from "./command-decoder.js";
import type { StepDefinition } from "./command-step.js";
import { ConsumeLoop } from "./consume-loop.js";
import { PartitionOwnership, type OwnedPartitions } from "./partition-ownership.js";
import type { ProcessorDefinition } from "./processor-definition.js";
import { processorMetrics } from "./processor-metrics.js";
import { ProcessorTopics } from "./processor-topics.js";
import type { ReplyPublisher } from "./reply-publisher.js";
import { TimerIssuer, type TimerCommand } from "./timer-issuer.js";
import { StallWatch } from "./stall-watch.js";
import { TransactionalProducer } from "./transactional-producer.js";
import { sleep } from "../sleep.js";

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
   * `ConsumeLoop`). A batch is whatever has arrived, up to this; while batches come back full at
   * once (a backlog) the bound doubles, up to `maxBatchSize`, and falls back once one does not.
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
  /** Whether it decides commands now: its group assigned it partitions (perhaps none), restored, and no rebalance is pending. */
  ready(): boolean;
}

/**
 * Starts the processor of one aggregate: consumes the `quikapp.<context>.commands` topic of every
 * context of the definition in the consumer group `quikchat.<owner>.processor` (`owner`:
 * `contexts[0]`), decides each command against its aggregate's state and writes, in one Kafka
 * transaction per batch, the events (`quikapp.<context>.events`), the new state of every
 * aggregate the batch touched (`quikapp.<owner>.state`), dead letters (`quikapp.<context>.dlq`)
 * and the consumed offsets (see `BatchTransaction`). After the commit, each command's outcome
 * goes to `deps.replies`, addressed to `meta.replyTo`.
 *
 * The runtime owns partition numbers: partition `n` of every commands topic feeds the aggregates
 * of changelog partition `n`, restored when the group assigns it (see `PartitionOwnership`).
 *
 * Guarantees: every command is decided exactly once into the event log (a crash anywhere
 * redoes the uncommitted batch, which yields identical events); per-aggregate order is each
 * command topic's order (between topics: the order in which they were consumed); a retried
 * `commandId` is answered with its first outcome while it is in the aggregate's dedupe window,
 * and produces nothing. Replies are at most once.
 *
 * Timers (`definition.timer`): when the deadline of an aggregate this instance owns passes, the
 * scheduled command is appended to the commands topic of its context and decided when it comes
 * back through the log. A timer command may arrive late or twice (twice with the same
 * commandId): deciders check the deadline, which is also the command's `issuedAt` (see
 * `TimerIssuer`).
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
  return { close: () => runtime.close(), stopped: runtime.stopped, assignment: () => runtime.assignment(), ready: () => runtime.ready() };
}

/** The definition with the contexts' unions erased to envelopes: the runtime only moves them. */
interface RuntimeDefinition<S> extends StepDefinition<CommandEnvelope, EventEnvelope, S> {
  readonly contexts: readonly [CommandContext, ...CommandContext[]];
  aggregateId?(command: CommandEnvelope): string;
  readonly dedupe?: ProcessorDefinition<CommandContext, S>["dedupe"];
  timer?(state: S, aggregateId: string): TimerCommand | undefined;
  snapshotParts?(state: S): readonly object[];
}

const DEFAULTS = { sessionTimeoutMs: 10_000, transactionTimeoutMs: 10_000 };

/** Builds the parts of one processor from its definition, starts them in order and stops them in reverse. */
class ProcessorRuntime<S> {
  readonly stopped: Promise<Error | undefined>;
  private resolveStopped!: (error: Error | undefined) => void;

  private readonly logger: Logger;
  private readonly topics: ProcessorTopics;
  private readonly consumer: Kafka.KafkaConsumer;
  private readonly producer: TransactionalProducer;
  private readonly changelog: ChangelogReader;
  /** Only when the definition has timers. */
  private readonly timers: TimerIssuer<S> | undefined;
  private readonly ownership: PartitionOwnership<S>;
  private readonly consumeLoop: ConsumeLoop<S>;
  private readonly watch: StallWatch;
  private readonly owned: OwnedPartitions<S> = new Map();
  /** Aborted on close: the loop ends after the batch in flight, a restore gives up, no timer fires. */
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private fatal: Error | undefined;

  constructor(definition: RuntimeDefinition<S>, deps: ProcessorDeps, options: ProcessorOptions) {
    const { kafka, codec } = deps;
    const topics = new ProcessorTopics(definition.contexts, kafka.topicPrefix);
    const { owner, contexts } = topics;
    const logger = deps.logger.child({ component: "processor", context: owner, ...(contexts.length > 1 ? { contexts } : {}) });
    const signal = this.stopping.signal;
    const owned = this.owned;
    const snapshots = new ChangelogCodec<S>(definition.snapshotParts?.bind(definition));
    const metrics = processorMetrics(deps.registry);
    const decoder = new CommandDecoder(
      codec,
      new Map(contexts.map((context) => [topics.of(context).commands, context])),
      definition.aggregateId?.bind(definition),
    );
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));

    const groupId = `${kafka.topicPrefix}quikchat.${owner}.processor`;
    const instance = options.instanceId === undefined ? "" : `.${options.instanceId}`;
    const clientId = `${kafka.clientId}-${owner}-processor`;
    const producer = new TransactionalProducer(
      {
        brokers: kafka.brokers,
        clientId,
        transactionalId: `${groupId}.${deps.nodeId}${instance}`,
        transactionTimeoutMs: options.transactionTimeoutMs ?? DEFAULTS.transactionTimeoutMs,
        produceSeconds: metrics.kafka.produceSeconds.labels(`processor:${owner}`),
      },
      logger,
    );
    const changelog = new ChangelogReader(
      { brokers: kafka.brokers, clientId: `${clientId}-restore`, groupId: `${groupId}.restore`, topic: topics.state },
      logger,
    );
    const consumer = new Kafka.KafkaConsumer(
      consumerSettings({ brokers: kafka.brokers, clientId, groupId }, {
        "enable.auto.offset.store": false,
        "session.timeout.ms": options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs,
        // One topic: partitions that stay put keep flowing (and keep their state) through a
        // rebalance. Several: every assignor but range places each topic's partitions on its own,
        // while one aggregate's commands on every topic must reach the same member. Range gives
        // each member the same partition numbers of topics with equal partition counts (it is
        // eager: a rebalance revokes and restores every partition).
        "partition.assignment.strategy": contexts.length > 1 ? "range" : "cooperative-sticky",
        "statistics.interval.ms": STATISTICS_INTERVAL_MS,
        // Called only once connected, when the ownership below exists.
        rebalance_cb: (error: Kafka.LibrdKafkaError | undefined, assignment: Kafka.TopicPartition[]) =>
          this.ownership.onRebalance(error, assignment),
      }),
      { "auto.offset.reset": "earliest" },
    );
    consumer.on("event.error", (error) => logger.warn({ err: asKafkaError(error) }, "kafka consumer error"));
    reportConsumerLag(consumer, metrics.kafka.consumerLag, `processor:${owner}`);
    const timer = definition.timer?.bind(definition);
    const timers =
      timer === undefined
        ? undefined
        : new TimerIssuer<S>({ timer, topics, kafka: { brokers: kafka.brokers, clientId: `${clientId}-timers` }, codec, owned, signal, metrics, logger });
    const ownership = new PartitionOwnership<S>({ consumer, changelog, snapshots, owned, timers, topics, signal, metrics, logger });
    const watch = (this.watch = new StallWatch(logger));
    const batches = new BatchTransaction<S>({
      definition,
      dedupe: definition.dedupe ?? DEFAULT_DEDUPE_WINDOW,
      decoder,
      codec,
      producer,
      consumer,
      snapshots,
      owned,
      topics,
      timers,
      replies: deps.replies,
      metrics,
      watch,
      logger,
    });
    this.topics = topics;
    this.logger = logger;
    this.consumer = consumer;
    this.producer = producer;
    this.changelog = changelog;
    this.timers = timers;
    this.ownership = ownership;
    this.consumeLoop = new ConsumeLoop<S>({ consumer, ownership, batches, signal, watch, logger }, options);
  }

  async start(): Promise<void> {
    const { topics } = this;
    try {
      await this.producer.start();
      const partitioned = [...topics.commands, topics.state];
      const others = topics.contexts.flatMap((context) => [topics.of(context).events, topics.of(context).dlq]);
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
      await this.timers?.connect();
      await connect(this.consumer, 10_000);
      this.consumer.subscribe([...topics.commands]);
    } catch (error) {
      await Promise.all([disconnect(this.consumer), this.changelog.close(), this.producer.close(), this.timers?.close()]);
      throw error;
    }
    this.logger.info({ topics: topics.commands, partitions: "assigned by the group" }, "processor started");
    this.running = this.consumeLoop.run().then((fatal) => {
      this.fatal = fatal;
      if (fatal !== undefined) void this.close();
    });
  }

  ready(): boolean {
    return this.ownership.ready();
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
    this.stopping.abort();
    await this.running;
    this.watch.stop();
    this.ownership.answerAtOnce();
    this.timers?.stop();
    await disconnect(this.consumer);
    this.owned.clear();
    // Timer commands already handed to the producer go out; none is issued any more.
    await this.timers?.settled();
    await Promise.all([this.changelog.close(), this.producer.close(), this.timers?.close()]);
    if (this.fatal === undefined) this.logger.info("processor stopped");
    this.resolveStopped(this.fatal);
  }
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
