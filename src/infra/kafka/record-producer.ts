import Kafka from "node-rdkafka";
import type { AvroCodec } from "../avro/avro-codec.js";
import type { Logger } from "../log/logger.js";
import { RECONNECT_BACKOFF_MAX_MS } from "./consumer-settings.js";
import { asKafkaError, connect, disconnect } from "./rdkafka-calls.js";

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
}

/** The records of one `send` call still awaiting their delivery reports. */
interface Pending {
  remaining: number;
  failure: Error | undefined;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Delivery reports reach JavaScript only when the client is polled: every millisecond while
 * records await theirs (a `send` resolves at most that much after Kafka acknowledged them), and
 * once a second otherwise (client errors), so an idle producer costs nothing.
 */
const BUSY_POLL_MS = 1;
const IDLE_POLL_MS = 1_000;
/** A record neither acknowledged nor refused within this is failed (the caller retries with the same command id). */
const MESSAGE_TIMEOUT_MS = 30_000;

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
 */
export class RecordProducer {
  private connected: Promise<Kafka.Producer> | undefined;
  /** Records handed to librdkafka whose delivery reports have not come yet. */
  private outstanding = 0;
  private busyPoll: NodeJS.Timeout | undefined;

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
    const producer = await this.client();
    this.outstanding += encoded.length;
    this.busyPoll ??= setInterval(() => producer.poll(), BUSY_POLL_MS);
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const pending: Pending = { remaining: encoded.length, failure: undefined, resolve, reject };
      for (const { record, value } of encoded) {
        const headers = record.headers === undefined ? undefined : Object.entries(record.headers).map(([name, text]) => ({ [name]: text }));
        try {
          producer.produce(record.topic, null, value, Buffer.from(record.key), Date.now(), pending, headers);
        } catch (error) {
          // Not queued (the local queue is full, or the client failed): no report will come for it.
          this.outstanding -= 1;
          settle(pending, asKafkaError(error));
        }
      }
      if (this.outstanding === 0) this.stopBusyPoll();
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
    const producer = await connected?.catch(() => undefined);
    if (producer === undefined) return;
    await new Promise<void>((resolve) => producer.flush(5_000, () => resolve()));
    this.stopBusyPoll();
    producer.setPollInterval(0);
    await disconnect(producer);
  }

  private client(): Promise<Kafka.Producer> {
    this.connected ??= this.open().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }

  private async open(): Promise<Kafka.Producer> {
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
      { partitioner: "murmur2_random", "message.timeout.ms": MESSAGE_TIMEOUT_MS },
    );
    producer.on("delivery-report", (error, report) => {
      settle(report.opaque as Pending, error ? asKafkaError(error) : undefined);
      this.outstanding -= 1;
      if (this.outstanding === 0) this.stopBusyPoll();
    });
    producer.on("event.error", (error) => this.logger.warn({ err: asKafkaError(error) }, "kafka producer error"));
    await connect(producer, 10_000);
    producer.setPollInterval(IDLE_POLL_MS);
    return producer;
  }

  private stopBusyPoll(): void {
    clearInterval(this.busyPoll);
    this.busyPoll = undefined;
  }
}

function settle(pending: Pending, error: Error | undefined): void {
  pending.failure ??= error;
  pending.remaining -= 1;
  if (pending.remaining > 0) return;
  if (pending.failure === undefined) pending.resolve();
  else pending.reject(pending.failure);
}
