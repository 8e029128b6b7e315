/**
 * Baseline (c): the Kafka produce→consume floor, one hop on the same broker, forked by the
 * benchmark. A producer writes records keyed like the service's commands (50 conversation keys,
 * six partitions) at a fixed rate; a consumer in the same process reads them; each record
 * carries its send time, so latency is produce call → consumer hands it over.
 *
 * Both clients are set up as the service sets them up: kafkajs as the gateway's producer
 * (idempotent, acks=all, one request in flight, later records gathered into the next request);
 * node-rdkafka as the processors' and projections' clients (idempotent producer with linger.ms
 * 1, the shared consumer settings: read_committed, fetches held up to 500 ms, the same consume calls).
 */
import { Kafka as KafkaJs, logLevel, type Message as KafkaJsMessage } from "kafkajs";
import Kafka from "node-rdkafka";
import { consumerSettings } from "../../src/infra/kafka/consumer-settings.js";
import { connect, consume, disconnect, partitionCount } from "../../src/infra/kafka/rdkafka-calls.js";
import { serveWorker } from "./processes.js";
import { epochMs, Samples, summarize, type Summary } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

export type KafkaLib = "kafkajs" | "rdkafka";

export interface FloorArgs {
  readonly lib: KafkaLib;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly rates: readonly number[];
  readonly seconds: number;
}

export interface FloorResult {
  readonly rate: number;
  readonly produced: number;
  readonly received: number;
  readonly lost: number;
  readonly latencyMs: Summary;
}

const KEYS = 50;
const VALUE_BYTES = 300;

/** A record value: run id (4 bytes), send time (8 bytes), padding to a command's size. */
function value(run: number, at: number): Buffer {
  const buffer = Buffer.alloc(VALUE_BYTES);
  buffer.writeUInt32BE(run, 0);
  buffer.writeDoubleBE(at, 4);
  return buffer;
}

interface Client {
  /** Hands a record to the producer (does not wait for the acknowledgement). */
  produce(key: string, value: Buffer): void;
  close(): Promise<void>;
}

let run = 0;
let latencies = new Samples();

function received(buffer: Buffer | null | undefined): void {
  if (!buffer || buffer.length < 12 || buffer.readUInt32BE(0) !== run) return;
  latencies.push(epochMs() - buffer.readDoubleBE(4));
}

async function kafkajsClient(brokers: readonly string[], topic: string): Promise<Client> {
  const kafka = new KafkaJs({ clientId: "bench-floor", brokers: [...brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `${topic}.kafkajs.${Date.now()}`, maxWaitTimeInMs: 10 });
  await Promise.all([producer.connect(), consumer.connect()]);
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) received(message.value);
    },
  });
  await joined;
  // As RecordProducer: one request in flight; what is produced meanwhile goes in the next one.
  let queue: KafkaJsMessage[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    while (queue.length > 0) {
      const messages = queue;
      queue = [];
      await producer.send({ topic, acks: -1, messages });
    }
    flushing = undefined;
  };
  return {
    produce: (key, buffer) => {
      queue.push({ key, value: buffer });
      flushing ??= flush();
    },
    close: async () => {
      await flushing;
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    },
  };
}

async function rdkafkaClient(brokers: readonly string[], topic: string): Promise<Client> {
  const producer = new Kafka.Producer(
    { "metadata.broker.list": brokers.join(","), "client.id": "bench-floor", "enable.idempotence": true, "linger.ms": 1, "socket.keepalive.enable": true },
    { partitioner: "murmur2_random" },
  );
  const consumer = new Kafka.KafkaConsumer(consumerSettings({ brokers, clientId: "bench-floor", groupId: `${topic}.rdkafka.${Date.now()}` }), { "auto.offset.reset": "latest" });
  await Promise.all([connect(producer, 10_000), connect(consumer, 10_000)]);
  producer.setPollInterval(50);
  const partitions = await partitionCount(consumer, topic, 10_000);
  // Assigned at the end of each partition (-1): only records produced from now on are read.
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: -1 })));
  let running = true;
  const loop = (async () => {
    while (running) for (const message of await consume(consumer, 64, 50)) received(message.value);
  })();
  return {
    produce: (key, buffer) => {
      producer.produce(topic, null, buffer, key);
    },
    close: async () => {
      running = false;
      await loop.catch(() => undefined);
      consumer.unassign();
      await Promise.all([disconnect(consumer), new Promise<void>((resolve) => producer.flush(5_000, () => resolve())).then(() => disconnect(producer))]);
    },
  };
}

/** Produces `count` records at `rate` per second, then waits (at most `drainMs`) for them. */
async function measure(client: Client, rate: number, count: number, drainMs: number): Promise<FloorResult> {
  run += 1;
  latencies = new Samples();
  const started = epochMs();
  for (let sent = 0; sent < count; ) {
    const due = Math.min(count, Math.floor(((epochMs() - started) * rate) / 1000) + 1);
    for (; sent < due; sent += 1) client.produce(`conversation-${sent % KEYS}`, value(run, epochMs()));
    if (sent < count) await sleep(1);
  }
  for (const deadline = epochMs() + drainMs; latencies.size < count && epochMs() < deadline; ) await sleep(50);
  return { rate, produced: count, received: latencies.size, lost: count - latencies.size, latencyMs: summarize([latencies.values()]) };
}

async function floor(args: FloorArgs): Promise<FloorResult[]> {
  const admin = new KafkaJs({ clientId: "bench-floor", brokers: [...args.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: args.topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const client = args.lib === "kafkajs" ? await kafkajsClient(args.brokers, args.topic) : await rdkafkaClient(args.brokers, args.topic);
  try {
    // Warm-up until records come back, then for a second (connections, metadata, fetch sessions).
    for (let i = 0; i < 30; i += 1) if ((await measure(client, 200, 100, 1_000)).lost === 0) break;
    await measure(client, 200, 200, 2_000);
    const results: FloorResult[] = [];
    for (const rate of args.rates) results.push(await measure(client, rate, Math.round(rate * args.seconds), 10_000));
    return results;
  } finally {
    await client.close();
  }
}

const api = { floor };

export type KafkaFloorApi = typeof api;

serveWorker(api);
