import Kafka from "node-rdkafka";
import type { AvroCodec } from "../avro/avro-codec.js";
import type { Logger } from "../log/logger.js";
import { RECONNECT_BACKOFF_MAX_MS } from "./consumer-settings.js";
import { asKafkaError, connect, disconnect, type KafkaError } from "./rdkafka-calls.js";

/** One Avro record to append to a topic. */
export interface OutgoingRecord {
  readonly topic: string;
  /** Partitioning key: the aggregate id, so a conversation's records stay in order. */
  readonly key: string;
  readonly fullName: string;
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RecordProducerSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** A record neither acknowledged nor refused within this is failed (default {@link MESSAGE_TIMEOUT_MS}). */
  readonly messageTimeoutMs?: number;
}

/** The records of one `send` call still awaiting their delivery reports. */
interface Pending {
  remaining: number;
  failure: Error | undefined;
  resolve(): void;
  reject(error: Error): void;
}

/** One librdkafka producer and the records it was handed whose delivery reports have not come yet. */
interface Client {
  readonly producer: Kafka.Producer;
  outstanding: number;
  busyPoll: NodeJS.Timeout | undefined;
  /** Replaced: takes no more records, and disconnects once its last report has come. */
  retired: boolean;
}

/**
 * Delivery reports reach JavaScript only when the client is polled: every millisecond while
 * records await theirs (a `send` resolves at most that much after Kafka acknowledged them), and
 * once a second otherwise (client errors), so an idle producer costs nothing.
 */
const BUSY_POLL_MS = 1;
const IDLE_POLL_MS = 1_000;
/**
 * A record neither acknowledged nor refused within this is failed (the caller retries with the
 * same command id): a little longer than the gateway's command timeout, whose client has retried
 * by then anyway.
 */
const MESSAGE_TIMEOUT_MS = 15_000;

/**
 * Delivery failures after which the client is replaced. After a broker restart, librdkafka's
 * idempotent producer has been seen to keep some partitions stuck for good (every record to them
 * timing out, the other partitions flowing): the sequence state of its producer id no longer
 * matches the broker's. A new client, with a new producer id, starts those sequences afresh.
 * node-rdkafka's delivery reports carry librdkafka's error text only (not its code): matched by it.
 */
const REPLACED_AFTER = /message timed out|out of order sequence number|inconsistent state|fatal error/i;

/**
 * Appends Avro records to Kafka with an idempotent librdkafka producer (`acks=all`; retries
 * neither duplicate nor reorder the records of a partition). The protocol work (batching,
 * requests, retries) runs on librdkafka's threads; JavaScript only encodes values and hands
 * records over.
 *
 * `send` resolves once every record is acknowledged by the in-sync replicas; a record that does
 * not match its schema is refused before anything is sent. Keys are partitioned with
 * `murmur2_random`, the Java client's default partitioner (and kafkajs's), so records keyed by
 * an aggregate id land on the partition number any other client would choose: commands and
 * events of a context are co-partitioned.
 *
 * A record that times out, or that the idempotence state refuses, retires the client: later
 * sends go to a new one (see {@link REPLACED_AFTER}), and the old one disconnects once the reports
 * of its records have come. The failed `send` still rejects: its caller retries.
 */
export class RecordProducer {
  private connected: Promise<Client> | undefined;
  /** Every client not yet disconnected: the current one and those retired with reports to come. */
  private readonly clients = new Set<Client>();

  /**
   * `produceSeconds` observes each `send`, from handing its records over to their last
   * acknowledgement (`kafka_produce_latency_seconds` of the producing role).
   */
  constructor(
    private readonly settings: RecordProducerSettings,
    private readonly codec: AvroCodec,
    private readonly logger: Logger,
    private readonly produceSeconds?: { observe(seconds: number): void },
  ) {}

  /** Appends `records` after everything sent before; resolves once they are acknowledged. */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    // Encoding first: a record that does not match its schema sends nothing of the call.
    const encoded = records.map((record) => ({ record, value: this.codec.encode(record.fullName, record.value) }));
    if (encoded.length === 0) return;
    let client = await this.client();
    // Retired while this send waited for it: the next call opens its successor.
    if (client.retired) client = await this.client();
    const { producer } = client;
    client.outstanding += encoded.length;
    client.busyPoll ??= setInterval(() => producer.poll(), BUSY_POLL_MS);
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const pending: Pending = { remaining: encoded.length, failure: undefined, resolve, reject };
      for (const { record, value } of encoded) {
        const headers = record.headers === undefined ? undefined : Object.entries(record.headers).map(([name, text]) => ({ [name]: text }));
        try {
          producer.produce(record.topic, null, value, Buffer.from(record.key), Date.now(), pending, headers);
        } catch (error) {
          // Not queued (the local queue is full, or the client failed): no report will come for it.
          this.reported(client, asKafkaError(error));
          settle(pending, asKafkaError(error));
        }
      }
    });
    this.produceSeconds?.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Connects once (again after {@link close}); resolves when the broker's metadata is known. */
  async connect(): Promise<void> {
    await this.client();
  }

  async close(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    await connected?.catch(() => undefined);
    await Promise.all(
      [...this.clients].map(async (client) => {
        await new Promise<void>((resolve) => client.producer.flush(5_000, () => resolve()));
        await this.dispose(client);
      }),
    );
  }

  private client(): Promise<Client> {
    this.connected ??= this.open().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }

  private async open(): Promise<Client> {
    const producer = new Kafka.Producer(
      {
        "metadata.broker.list": this.settings.brokers.join(","),
        "client.id": this.settings.clientId,
        "enable.idempotence": true,
        "linger.ms": 1,
        "socket.keepalive.enable": true,
        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        dr_cb: true,
      },
      { partitioner: "murmur2_random", "message.timeout.ms": this.settings.messageTimeoutMs ?? MESSAGE_TIMEOUT_MS },
    );
    const client: Client = { producer, outstanding: 0, busyPoll: undefined, retired: false };
    producer.on("delivery-report", (error, report) => {
      const failure = error ? asKafkaError(error) : undefined;
      settle(report.opaque as Pending, failure);
      this.reported(client, failure);
    });
    producer.on("event.error", (error) => this.logger.warn({ err: asKafkaError(error) }, "kafka producer error"));
    await connect(producer, 10_000);
    producer.setPollInterval(IDLE_POLL_MS);
    this.clients.add(client);
    return client;
  }

  /** One record of `client` is settled, with `failure` or not. */
  private reported(client: Client, failure: KafkaError | undefined): void {
    client.outstanding -= 1;
    if (failure !== undefined && REPLACED_AFTER.test(failure.message) && !client.retired) {
      client.retired = true;
      this.connected = undefined;
      this.logger.warn({ err: failure, outstanding: client.outstanding }, "kafka producer replaced: a record was not delivered");
    }
    if (client.outstanding > 0) return;
    clearInterval(client.busyPoll);
    client.busyPoll = undefined;
    if (client.retired) void this.dispose(client);
  }

  private async dispose(client: Client): Promise<void> {
    if (!this.clients.delete(client)) return;
    clearInterval(client.busyPoll);
    client.producer.setPollInterval(0);
    await disconnect(client.producer);
  }
}

function settle(pending: Pending, error: Error | undefined): void {
  pending.failure ??= error;
  pending.remaining -= 1;
  if (pending.remaining > 0) return;
  if (pending.failure === undefined) pending.resolve();
  else pending.reject(pending.failure);
}
