import Kafka from "node-rdkafka";
import type { Logger } from "../../infra/log/logger.js";
import { RECONNECT_BACKOFF_MAX_MS } from "../../infra/kafka/consumer-settings.js";
import { asKafkaError, call, classifyTransactionError, connect, disconnect, type KafkaError } from "../../infra/kafka/rdkafka-calls.js";
import { sleep } from "../sleep.js";

export interface TransactionalProducerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Unique per live process: a second producer with the same id fences the first. */
  readonly transactionalId: string;
  /** Longest a transaction may stay open; the coordinator aborts it after that (e.g. its process died). */
  readonly transactionTimeoutMs: number;
  /** Observes each committed transaction, from its begin to its commit (`kafka_produce_latency_seconds`). */
  readonly produceSeconds?: { observe(seconds: number): void };
}

/** One record to append inside the open transaction. */
export interface TransactionalRecord {
  readonly topic: string;
  /** Explicit partition, or undefined to partition by key (murmur2, as kafkajs and Java producers do). */
  readonly partition?: number;
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

const RETRIES = 5;
/** Backoff of the client's own request retries (see the constructor): short first, growing to a tenth of a second. */
const RETRY_BACKOFF_MS = 5;
const RETRY_BACKOFF_MAX_MS = 100;
/**
 * An abort waits for the transaction's records still in flight; after a broker restart some wait
 * for the abort itself (an epoch bump), and only the call's timeout breaks the wait. The call is
 * resumable, so a short timeout retried costs a second, not the whole transaction timeout.
 */
const ABORT_TIMEOUT_MS = 1_000;
const ABORT_ATTEMPTS = 30;

/**
 * A node-rdkafka transactional producer (idempotent, `acks=all`). Calls follow librdkafka's
 * contract: `initTransactions` once, then `begin` → `produce`… → `sendOffsets` → `commit`, or
 * `abort`. Retriable failures are retried here; every other failure is thrown as a librdkafka
 * error for the caller to classify with `classifyTransactionError` (abort, or stop when fatal).
 *
 * Keys are partitioned with `murmur2_random`, the Java client's default partitioner (and
 * kafkajs's), so records land on the partition numbers other clients would choose.
 */
export class TransactionalProducer {
  private readonly producer: Kafka.Producer;
  /** When the open transaction began (process.hrtime.bigint). */
  private begun = 0n;

  constructor(
    private readonly options: TransactionalProducerOptions,
    private readonly logger: Logger,
  ) {
    this.producer = new Kafka.Producer(
      {
        "metadata.broker.list": options.brokers.join(","),
        "client.id": options.clientId,
        "transactional.id": options.transactionalId,
        "transaction.timeout.ms": options.transactionTimeoutMs,
        "enable.idempotence": true,
        "linger.ms": 1,
        "socket.keepalive.enable": true,
        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        // The broker answers the first requests of a transaction with CONCURRENT_TRANSACTIONS while
        // it still writes the previous one's markers; at the default 100 ms backoff every batch paid
        // that wait (sendOffsets took ~85 ms of a ~90 ms transaction, now ~6 of ~10).
        "retry.backoff.ms": RETRY_BACKOFF_MS,
        "retry.backoff.max.ms": RETRY_BACKOFF_MAX_MS,
      },
      { partitioner: "murmur2_random" },
    );
    this.producer.on("event.error", (error) => this.logger.warn({ err: asKafkaError(error) }, "kafka producer error"));
  }

  /** The underlying client, for metadata look-ups. */
  get client(): Kafka.Producer {
    return this.producer;
  }

  /** Connects and registers the transactional id, fencing any older producer that had it (aborting its open transaction). */
  async start(): Promise<void> {
    await connect(this.producer, 10_000);
    this.producer.setPollInterval(100);
    await this.retrying("initTransactions", () =>
      call((done) => this.producer.initTransactions(this.options.transactionTimeoutMs, done)),
    );
  }

  begin(): Promise<void> {
    this.begun = process.hrtime.bigint();
    return call((done) => this.producer.beginTransaction(done));
  }

  /** Appends a record to the open transaction; throws a librdkafka error when it cannot be queued. */
  produce(record: TransactionalRecord): void {
    const headers = record.headers === undefined ? undefined : Object.entries(record.headers).map(([name, value]) => ({ [name]: value }));
    try {
      // Keys as bytes: node-rdkafka cuts a string key at its first NUL (changelog part keys hold one).
      const key = typeof record.key === "string" ? Buffer.from(record.key) : record.key;
      this.producer.produce(record.topic, record.partition ?? null, record.value, key, Date.now(), undefined, headers);
    } catch (error) {
      throw asKafkaError(error);
    }
  }

  /** Adds the consumer's offsets to the transaction, with its group metadata (KIP-447: a zombie of an older generation is refused). */
  sendOffsets(offsets: readonly Kafka.TopicPartitionOffset[], consumer: Kafka.KafkaConsumer): Promise<void> {
    return this.retrying("sendOffsetsToTransaction", () =>
      call((done) => this.producer.sendOffsetsToTransaction([...offsets], consumer, this.options.transactionTimeoutMs, done)),
    );
  }

  /** Flushes the transaction's records and commits it. */
  async commit(): Promise<void> {
    await this.retrying("commitTransaction", () =>
      call((done) => this.producer.commitTransaction(this.options.transactionTimeoutMs, done)),
    );
    this.options.produceSeconds?.observe(Number(process.hrtime.bigint() - this.begun) / 1e9);
  }

  abort(): Promise<void> {
    const timeout = Math.min(ABORT_TIMEOUT_MS, this.options.transactionTimeoutMs);
    return this.retrying("abortTransaction", () => call((done) => this.producer.abortTransaction(timeout, done)), ABORT_ATTEMPTS);
  }

  close(): Promise<void> {
    this.producer.setPollInterval(0);
    return disconnect(this.producer);
  }

  private async retrying(operation: string, run: () => Promise<void>, attempts = RETRIES): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const kafkaError: KafkaError = asKafkaError(error);
        if (attempt >= attempts || classifyTransactionError(kafkaError) !== "retriable") throw kafkaError;
        this.logger.warn({ err: kafkaError, attempt }, `${operation} failed; retrying`);
        await sleep(Math.min(1_000, 100 * attempt));
      }
    }
  }
}
