/**
 * Promise forms of the node-rdkafka calls the processors and projections make, and the error
 * classification librdkafka's transactional API calls for.
 */
import Kafka from "node-rdkafka";

export const ERRORS = Kafka.CODES.ERRORS;

/** librdkafka's logical offset "the first offset of the partition". */
export const OFFSET_BEGINNING = -2;

/** A librdkafka error as node-rdkafka reports it, always an `Error`. */
export type KafkaError = Error & Partial<Kafka.LibrdKafkaError>;

/** Wraps whatever node-rdkafka passed (an error object, a plain object, a code) in a `KafkaError`. */
export function asKafkaError(error: unknown): KafkaError {
  if (error instanceof Error) return error;
  if (typeof error === "object" && error !== null) {
    const plain = error as Partial<Kafka.LibrdKafkaError>;
    return Object.assign(new Error(plain.message ?? "kafka error"), plain);
  }
  return new Error(String(error));
}

/**
 * What to do after a failed transactional call (librdkafka's transactional API contract):
 * `fatal`: the producer is unusable (fenced by a newer instance with the same transactional id,
 * or a fatal idempotence error); `retriable`: call the same function again; `abortable`: abort
 * the transaction and start over.
 */
export type TransactionFailure = "fatal" | "retriable" | "abortable";

export function classifyTransactionError(error: KafkaError): TransactionFailure {
  if (error.isFatal === true || error.code === ERRORS.ERR__FENCED) return "fatal";
  if (error.isTxnRequiresAbort === true) return "abortable";
  if (error.isRetriable === true) return "retriable";
  return "abortable";
}

/** Runs a node-rdkafka call taking a completion callback. */
export function call(run: (done: (error: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    run((error) => (error ? reject(asKafkaError(error)) : resolve()));
  });
}

/** Connects a producer or consumer and waits for its metadata. */
export function connect(client: Kafka.Producer | Kafka.KafkaConsumer, timeoutMs: number): Promise<void> {
  return call((done) => client.connect({ timeout: timeoutMs }, (error) => done(error)));
}

/** Disconnects, never rejecting (shutdown must go on). */
export async function disconnect(client: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
  if (!client.isConnected()) return;
  await new Promise<void>((resolve) => client.disconnect(() => resolve()));
}

/**
 * Up to `size` records: waits at most `waitMs` for the first one, then takes what else is there
 * or arrives within a millisecond of the last (a steady stream is bounded by `size`).
 *
 * node-rdkafka's own consume(n) goes on waiting after a record until n are read, the timeout
 * passes, or the partition's end is signalled, and librdkafka signals the end only with the next
 * (empty) fetch answer, which the broker holds up to `fetch.wait.max.ms`. Taking the first record
 * alone and then draining keeps a lone record's latency independent of that wait, so fetches may
 * wait long (few requests while idle) without delaying anything.
 */
export async function consume(consumer: Kafka.KafkaConsumer, size: number, waitMs: number): Promise<Kafka.Message[]> {
  const first = await consumeUpTo(consumer, 1, waitMs);
  if (first.length === 0 || size <= 1) return first;
  return first.concat(await consumeUpTo(consumer, size - 1, 1));
}

function consumeUpTo(consumer: Kafka.KafkaConsumer, size: number, timeoutMs: number): Promise<Kafka.Message[]> {
  consumer.setDefaultConsumeTimeout(timeoutMs);
  return new Promise((resolve, reject) => {
    consumer.consume(size, (error, messages) => (error ? reject(asKafkaError(error)) : resolve(messages)));
  });
}

/** The number of partitions of `topic`; throws when it does not exist. */
export function partitionCount(client: Kafka.Producer | Kafka.KafkaConsumer, topic: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    client.getMetadata({ topic, timeout: timeoutMs }, (error, metadata) => {
      if (error) return reject(asKafkaError(error));
      const found = metadata.topics.find((entry) => entry.name === topic);
      if (found === undefined || found.partitions.length === 0) return reject(new Error(`topic ${topic} does not exist`));
      resolve(found.partitions.length);
    });
  });
}

/** Seeks an assigned partition, waiting until the fetcher has moved. */
export function seek(consumer: Kafka.KafkaConsumer, position: Kafka.TopicPartitionOffset, timeoutMs: number): Promise<void> {
  return call((done) => consumer.seek(position, timeoutMs, (error) => done(error)));
}

/**
 * The committed offsets of `partitions` in the consumer's group. With `read_committed`,
 * librdkafka asks for stable offsets (KIP-447): a partition whose offsets are part of a
 * transaction still open comes back as an `Error` instead of an offset.
 */
export function committed(
  consumer: Kafka.KafkaConsumer,
  partitions: readonly Kafka.TopicPartition[],
  timeoutMs: number,
): Promise<(Kafka.TopicPartitionOffset | Error)[]> {
  return new Promise((resolve, reject) => {
    consumer.committed([...partitions], timeoutMs, (error, offsets) =>
      error ? reject(asKafkaError(error)) : resolve(offsets),
    );
  });
}

