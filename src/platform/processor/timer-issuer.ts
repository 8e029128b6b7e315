import type { CommandMeta } from "../contract/generated/avro-types.js";
import { correlated } from "../contract/command-correlation.js";
import { loadSchemaCatalog } from "../contract/schema-catalog.js";
import type { CommandContext } from "../contract/topics.js";
import { AvroEncodeError, type AvroCodec } from "../../infra/avro/avro-codec.js";
import type { KafkaSettings } from "../../infra/kafka/kafkajs-client.js";
import { RecordProducer, type OutgoingRecord } from "../../infra/kafka/record-producer.js";
import type { Logger } from "../../infra/log/logger.js";
import type { AggregateSnapshot } from "./aggregate-snapshot.js";
import type { OwnedPartitions } from "./partition-ownership.js";
import type { ProcessorMetrics } from "./processor-metrics.js";
import type { ProcessorTopics } from "./processor-topics.js";
import { TimerSchedule, type ScheduledTimer } from "./timer-schedule.js";

/** A `ScheduledCommand` with the contexts' unions erased. */
export interface TimerCommand {
  readonly at: number;
  readonly workspaceId: string;
  readonly command: { readonly type: string; readonly data: object };
}

export interface TimerIssuerDeps<S> {
  /** The definition's `timer`: the aggregate's next deadline, if it has one. */
  readonly timer: (state: S, aggregateId: string) => TimerCommand | undefined;
  readonly topics: ProcessorTopics;
  /** The client that appends the timer commands, outside any transaction. */
  readonly kafka: KafkaSettings;
  /** Encodes the timer commands; knows every command of the consumed contexts. */
  readonly codec: AvroCodec;
  /** The aggregates this instance owns; a failed append is retried only while its partition is owned. */
  readonly owned: OwnedPartitions<S>;
  /** Aborted when the processor stops: from then on no timer is armed, fired or retried. */
  readonly signal: AbortSignal;
  readonly metrics: ProcessorMetrics;
  readonly logger: Logger;
}

/** Where a command of a given type is appended: its record name and the context whose commands topic carries it. */
interface CommandRoute {
  readonly fullName: string;
  readonly context: CommandContext;
}

/** The actor of the commands timers issue. */
const TIMER_ACTOR = "system:timer";
const TIMER_RETRY_MS = 1_000;
/** setTimeout fires at once for longer delays; a later deadline is armed in steps of this. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Issues the timer commands of the aggregates a processor owns (`ProcessorDefinition.timer`).
 *
 * It keeps the next deadline of every owned aggregate, computed for each restored aggregate when
 * partitions are assigned and for each aggregate a batch changed once that batch has committed,
 * and forgotten with revoked partitions and on close. When a deadline passes (by this instance's
 * clock), the scheduled command is appended, outside any transaction, to the commands topic of
 * the context declaring its type (key: the aggregate id) and is decided when it comes back
 * through the log. A fired timer is forgotten until the aggregate's next computation; a failed
 * append is retried about every second. So a timer command may arrive late or twice (twice with
 * the same commandId): deciders check the deadline, which is also the command's `issuedAt`.
 */
export class TimerIssuer<S> {
  /**
   * The next deadline of every owned aggregate that has one. `dueAt` is when to issue the
   * command: its deadline, or a retry time after a failed append.
   */
  private readonly timers = new TimerSchedule<TimerCommand>();
  private readonly routes: ReadonlyMap<string, CommandRoute>;
  private readonly producer: RecordProducer;
  /** One timeout, armed for the earliest deadline (`armedFor`). */
  private timeout: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private readonly sends = new Set<Promise<void>>();

  /** @throws when two of the consumed contexts declare a command of the same name (timer commands are routed by type) */
  constructor(private readonly deps: TimerIssuerDeps<S>) {
    this.routes = commandRoutes(deps.topics.contexts);
    this.producer = new RecordProducer(deps.kafka, deps.codec, deps.logger, deps.metrics.kafka.produceSeconds.labels(`timers:${deps.topics.owner}`));
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Computes the timer of every aggregate of freshly restored partitions. */
  scheduleRestored(states: ReadonlyMap<number, ReadonlyMap<string, AggregateSnapshot<S>>>): void {
    for (const [partition, aggregates] of states) {
      for (const [aggregateId, snapshot] of aggregates) this.schedule(partition, aggregateId, snapshot);
    }
    this.arm();
  }

  /** Recomputes the timer of every aggregate of `changed` (partition → aggregate ids), a committed batch's. */
  rescheduleChanged(changed: ReadonlyMap<number, ReadonlyMap<string, unknown>>): void {
    for (const [partition, originals] of changed) {
      const aggregates = this.deps.owned.get(partition);
      for (const aggregateId of originals.keys()) this.schedule(partition, aggregateId, aggregates?.get(aggregateId));
    }
    this.arm();
  }

  /** Forgets the timers of revoked partitions. */
  dropPartitions(partitions: readonly number[]): void {
    this.timers.dropPartitions(partitions);
    this.arm();
  }

  /** Forgets every timer and disarms: none is issued any more. */
  stop(): void {
    this.timers.clear();
    this.arm();
  }

  /** Settles once the timer commands already handed to the producer have gone out (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.sends);
  }

  /** Disconnects the producer; after {@link settled}, so that no issued command is lost. */
  close(): Promise<void> {
    return this.producer.close();
  }

  private schedule(partition: number, aggregateId: string, snapshot: AggregateSnapshot<S> | undefined): void {
    let scheduled: TimerCommand | undefined;
    try {
      scheduled = snapshot === undefined ? undefined : this.deps.timer(snapshot.state, aggregateId);
    } catch (error) {
      // A bug in a pure function: better one aggregate without a timer than a stopped partition.
      this.deps.logger.error({ err: error, partition, aggregateId }, "the timer of an aggregate failed; it has none until it changes again");
    }
    if (scheduled === undefined) this.timers.delete(partition, aggregateId);
    else this.timers.set(partition, aggregateId, scheduled.at, scheduled);
  }

  /** Arms the one timeout for the earliest deadline, unless it already is. */
  private arm(): void {
    const earliest = this.deps.signal.aborted ? undefined : this.timers.earliest();
    if (earliest === this.armedFor) return;
    clearTimeout(this.timeout);
    this.timeout = undefined;
    this.armedFor = earliest;
    if (earliest === undefined) return;
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, earliest - Date.now()));
    this.timeout = setTimeout(() => this.fire(), delay);
    // The consumer loop keeps the process alive while the processor runs; deadlines never do.
    this.timeout.unref();
  }

  private fire(): void {
    this.timeout = undefined;
    this.armedFor = undefined;
    if (this.deps.signal.aborted) return;
    for (const timer of this.timers.takeDue(Date.now())) this.issue(timer);
    this.arm();
  }

  /** Appends a due timer's command to its commands topic; a failed append is retried in a second. */
  private issue(timer: ScheduledTimer<TimerCommand>): void {
    const { partition, aggregateId } = timer;
    let route: CommandRoute;
    let record: OutgoingRecord;
    try {
      ({ route, record } = this.record(timer));
    } catch (error) {
      this.deps.logger.error({ err: error, partition, aggregateId }, "the timer of an aggregate names no command of this processor; dropped");
      return;
    }
    const sending = this.producer
      .send([record])
      .then(
        () => this.deps.metrics.timerCommands.inc({ context: route.context }),
        (error: unknown) => {
          const commandId = (record.value as { meta: CommandMeta }).meta.commandId;
          if (error instanceof AvroEncodeError) {
            this.deps.logger.error({ err: error, partition, aggregateId, commandId }, "a timer command does not match its schema; dropped");
            return;
          }
          this.deps.logger.warn({ err: error, partition, aggregateId, commandId, retryInMs: TIMER_RETRY_MS }, "could not issue a timer command; retrying");
          this.retry(timer);
        },
      )
      .finally(() => this.sends.delete(sending));
    this.sends.add(sending);
  }

  private retry(timer: ScheduledTimer<TimerCommand>): void {
    const { partition, aggregateId, value } = timer;
    // Not once the partition is gone, nor over a newer computation of the aggregate's timer.
    if (this.deps.signal.aborted || !this.deps.owned.has(partition) || this.timers.get(partition, aggregateId) !== undefined) return;
    this.timers.set(partition, aggregateId, Date.now() + TIMER_RETRY_MS, value);
    this.arm();
  }

  /** The command a timer issues, with the deterministic meta `ProcessorDefinition.timer` promises. */
  private record({ aggregateId, value }: ScheduledTimer<TimerCommand>): { route: CommandRoute; record: OutgoingRecord } {
    const { at, workspaceId, command } = value;
    const route = this.routes.get(command.type);
    if (route === undefined) throw new Error(`${command.type} is not a command of ${this.deps.topics.contexts.join(" or ")}`);
    const commandId = `timer:${aggregateId}:${command.type}:${at}`;
    const meta: CommandMeta = { commandId, correlationId: commandId, actorId: TIMER_ACTOR, workspaceId, issuedAt: at, replyTo: null };
    const topic = this.deps.topics.of(route.context).commands;
    const record = { topic, key: aggregateId, fullName: route.fullName, value: correlated(route.context, aggregateId, { meta, ...command.data }) };
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
