import type Kafka from "node-rdkafka";
import type { CommandMeta } from "../contract/generated/avro-types.js";
import type { CommandContext } from "../contract/topics.js";
import type { CommandEnvelope, EventEnvelope } from "../domain/decider.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import { asKafkaError, classifyTransactionError, seek } from "../../infra/kafka/rdkafka-calls.js";
import type { Logger } from "../../infra/log/logger.js";
import type { AggregateSnapshot, DedupeWindow } from "./aggregate-snapshot.js";
import type { ChangelogCodec } from "./changelog-codec.js";
import type { CommandDecoder, DecodedRecord } from "./command-decoder.js";
import { internalFailure } from "./command-outcome.js";
import { stepCommand, type StepDefinition } from "./command-step.js";
import { deadLetterRecord, type DeadLetterReason } from "./dead-letter.js";
import type { OwnedPartitions } from "./partition-ownership.js";
import { FatalProcessorError, RetryBatchError } from "./processor-errors.js";
import type { CommandCount, ProcessorMetrics } from "./processor-metrics.js";
import type { ProcessorTopics } from "./processor-topics.js";
import type { CommandReply, ReplyPublisher } from "./reply-publisher.js";
import type { StallWatch } from "./stall-watch.js";
import type { TimerIssuer } from "./timer-issuer.js";
import type { TransactionalProducer } from "./transactional-producer.js";

export interface BatchTransactionDeps<S> {
  /** The definition's decider and result hook, over envelopes. */
  readonly definition: StepDefinition<CommandEnvelope, EventEnvelope, S>;
  readonly dedupe: DedupeWindow;
  readonly decoder: CommandDecoder;
  /** Encodes the events; knows every record of the consumed contexts. */
  readonly codec: AvroCodec;
  readonly producer: TransactionalProducer;
  /** The group member whose offsets the transaction commits, and whose partitions an aborted batch rewinds. */
  readonly consumer: Kafka.KafkaConsumer;
  /** Writes the changelog records of the aggregates a batch touched. */
  readonly snapshots: ChangelogCodec<S>;
  /** The state the batch decides against and changes; rolled back when its transaction aborts. */
  readonly owned: OwnedPartitions<S>;
  readonly topics: ProcessorTopics;
  /** Recomputes the timers of the aggregates a committed batch changed; only when the definition has timers. */
  readonly timers: TimerIssuer<S> | undefined;
  readonly replies: ReplyPublisher;
  readonly metrics: ProcessorMetrics;
  /** Told each step of the batch (decode, begin, offsets, commit, abort, rewind, replies). */
  readonly watch: StallWatch;
  readonly logger: Logger;
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
 * librdkafka refuses larger records (`message.max.bytes`), which would fail every retry of the
 * batch: such an event dead-letters its command instead. (A changelog snapshot cannot be refused
 * per command: an aggregate's state must stay below the changelog's `max.message.bytes`.)
 */
const MAX_RECORD_BYTES = 1_000_000 - 1_024;

/**
 * Processes a batch of commands in one Kafka transaction: decides each command against its
 * aggregate's state and writes the events (to the `quikapp.<context>.events` of the context
 * declaring each event type, keyed by aggregate id), the new state of every aggregate the batch
 * touched (`quikapp.<owner>.state`, compacted, same partition number as the command), dead
 * letters (to the `quikapp.<context>.dlq` of the command's context) and the consumed offsets of
 * every topic (KIP-447: with the consumer's group metadata, so an instance that lost its
 * partitions cannot commit). After the commit, each command's outcome goes to the
 * {@link ReplyPublisher}.
 *
 * A batch that fails is never skipped: its state changes are rolled back, its transaction
 * aborted and its partitions rewound, so that the next consume redoes it (and yields identical
 * events).
 */
export class BatchTransaction<S> {
  constructor(private readonly deps: BatchTransactionDeps<S>) {}

  /**
   * Processes `messages`, all of owned partitions.
   * @throws RetryBatchError (or a decoding failure) after rewinding, to redo the batch; FatalProcessorError when the transaction cannot go on (fenced) or the partitions cannot be rewound
   */
  async run(messages: readonly Kafka.Message[]): Promise<void> {
    const { decoder, producer, consumer, metrics, topics, watch } = this.deps;
    const started = performance.now();
    let decoded: DecodedRecord[];
    watch.enter("decode");
    try {
      decoded = await Promise.all(messages.map((message) => decoder.decode(message)));
    } catch (error) {
      await this.rewind(messages);
      throw error;
    }

    const journal: Journal<S> = new Map();
    let written: (() => void)[] = [];
    const effects: BatchEffects = { replies: [], counts: new Map(), deadLetters: new Map() };
    try {
      watch.enter("begin");
      await producer.begin();
      for (const item of decoded) this.handle(item, journal, effects);
      written = this.produceSnapshots(journal);
      watch.enter("offsets");
      await producer.sendOffsets(nextOffsets(messages), consumer);
      watch.enter("commit");
      await producer.commit();
    } catch (error) {
      await this.abort(messages, journal, error);
      return;
    }
    for (const commit of written) commit();
    this.deps.timers?.rescheduleChanged(journal);

    for (const [context, counts] of effects.counts) {
      for (const [outcome, count] of Object.entries(counts)) {
        if (count > 0) metrics.commands.inc({ context, outcome }, count);
      }
    }
    for (const [context, count] of effects.deadLetters) metrics.deadLetters.inc({ context }, count);
    watch.enter("replies");
    await this.deps.replies.publish(effects.replies);
    metrics.batchSeconds.observe({ context: topics.owner }, (performance.now() - started) / 1000);
  }

  /** Rolls the batch's state changes back, aborts its transaction and rewinds its partitions so that the next consume redoes it. */
  private async abort(messages: readonly Kafka.Message[], journal: Journal<S>, error: unknown): Promise<void> {
    for (const [partition, originals] of journal) {
      const aggregates = this.deps.owned.get(partition);
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
    this.deps.watch.enter("abort");
    try {
      await this.deps.producer.abort();
    } catch (abortError) {
      throw new FatalProcessorError(`could not abort the transaction: ${asKafkaError(abortError).message}`, { cause: abortError });
    }
    // Before anything else may throw: the next consume must redo the batch, never skip it.
    await this.rewind(messages);
    throw new RetryBatchError(`transaction aborted: ${kafkaError.message}`, { cause: error });
  }

  /** Moves each still-owned topic partition of the batch back to the batch's first offset on it. */
  private async rewind(messages: readonly Kafka.Message[]): Promise<void> {
    this.deps.watch.enter("rewind");
    const first = new Map<string, Kafka.TopicPartitionOffset>();
    for (const { topic, partition, offset } of messages) {
      const key = `${topic}\0${partition}`;
      if (!first.has(key)) first.set(key, { topic, partition, offset });
    }
    for (const position of first.values()) {
      if (!this.deps.owned.has(position.partition)) continue;
      try {
        await seek(this.deps.consumer, position, 5_000);
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
    const aggregates = this.deps.owned.get(message.partition)!;
    const before = aggregates.get(aggregateId);
    const step = stepCommand(this.deps.definition, before, command, this.deps.dedupe);
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
            const route = this.deps.decoder.eventRoute(event.type);
            return { topic: this.deps.topics.of(route.context).events, value: this.deps.codec.encode(route.fullName, event.data) };
          });
          const tooLarge = records.find(({ value }) => value.length > MAX_RECORD_BYTES);
          if (tooLarge !== undefined) throw new Error(`an event of ${tooLarge.value.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte record limit`);
        } catch (error) {
          return this.deadLetter(context, message, "invalid_event", error instanceof Error ? error : new Error(String(error)), meta, effects);
        }
        for (const { topic, value } of records) this.deps.producer.produce({ topic, key: aggregateId, value });
        this.apply(journal, message.partition, aggregateId, before, step.snapshot);
        break;
      }
    }
    countOf(effects, context)[step.kind]++;
    if (meta.replyTo !== null) effects.replies.push({ replyTo: meta.replyTo, outcome: step.outcome });
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
    this.deps.owned.get(partition)!.set(aggregateId, after);
  }

  private deadLetter(
    context: CommandContext,
    message: Kafka.Message,
    reason: DeadLetterReason,
    error: Error,
    meta: CommandMeta | undefined,
    effects: BatchEffects,
  ): void {
    this.deps.logger.warn(
      { err: error, reason, topic: message.topic, partition: message.partition, offset: message.offset, commandId: meta?.commandId },
      "command sent to the dead-letter topic",
    );
    this.deps.producer.produce(deadLetterRecord(this.deps.topics.of(context).dlq, message, reason, error));
    countOf(effects, context).failed++;
    effects.deadLetters.set(context, (effects.deadLetters.get(context) ?? 0) + 1);
    if (meta !== undefined && meta.replyTo !== null) effects.replies.push({ replyTo: meta.replyTo, outcome: internalFailure(meta.commandId) });
  }

  /**
   * Appends the changelog records of every aggregate the batch touched, on the partition number
   * of its commands; returns what to remember once the transaction commits.
   */
  private produceSnapshots(journal: Journal<S>): (() => void)[] {
    const commits: (() => void)[] = [];
    for (const [partition, originals] of journal) {
      const aggregates = this.deps.owned.get(partition)!;
      for (const id of originals.keys()) {
        const { records, commit } = this.deps.snapshots.records(partition, id, aggregates.get(id));
        for (const { key, value } of records) this.deps.producer.produce({ topic: this.deps.topics.state, partition, key, value });
        commits.push(commit);
      }
    }
    return commits;
  }
}

/** The offsets to commit after `messages`: one past the last record of each topic partition. */
function nextOffsets(messages: readonly Kafka.Message[]): Kafka.TopicPartitionOffset[] {
  const next = new Map<string, Kafka.TopicPartitionOffset>();
  for (const { topic, partition, offset } of messages) next.set(`${topic}\0${partition}`, { topic, partition, offset: offset + 1 });
  return [...next.values()];
}

function countOf(effects: BatchEffects, context: CommandContext): Record<CommandCount, number> {
  let counts = effects.counts.get(context);
  if (counts === undefined) effects.counts.set(context, (counts = { accepted: 0, rejected: 0, duplicate: 0, failed: 0 }));
  return counts;
}
