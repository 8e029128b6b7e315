// A QuikChat topic reader for data teams: copy this file, `npm install kafkajs avsc`, run it with
// Node 18 or later. It reads one topic from the beginning as a consumer group, with
// read_committed isolation (only committed transactions: exactly the events the service decided),
// decodes each value from the Confluent wire format with the writer's schema fetched by id from
// the registry, and prints one JSON line per record.
//
//   KAFKA_BROKERS=127.0.0.1:9092 \
//   SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
//   TOPIC=quikapp.messages.events GROUP_ID=my-analytics-job \
//   node analytics-consumer.mjs
//
// EXIT_WHEN_IDLE_MS=3000 stops it once no record arrived for that long (a one-off load).
import avro from "avsc";
import { Kafka, logLevel } from "kafkajs";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const registry = (process.env.SCHEMA_REGISTRY_URL ?? "http://127.0.0.1:8081/apis/ccompat/v7").replace(/\/+$/, "");
const topic = process.env.TOPIC ?? "quikapp.messages.events";
const groupId = process.env.GROUP_ID ?? "quikchat-analytics-example";
const idleMs = Number(process.env.EXIT_WHEN_IDLE_MS ?? 0);

/** Writer schemas by id: fetched once each (the registry never changes a schema behind an id). */
const types = new Map();
async function typeOf(id) {
  let type = types.get(id);
  if (type === undefined) {
    const response = await fetch(`${registry}/schemas/ids/${id}`);
    if (!response.ok) throw new Error(`registry answered ${response.status} for schema ${id}`);
    const { schema } = await response.json();
    type = avro.Type.forSchema(JSON.parse(schema));
    types.set(id, type);
  }
  return type;
}

/** Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, the Avro binary body. */
async function decode(value) {
  if (value === null || value.length < 5 || value.readUInt8(0) !== 0) throw new Error("not a Confluent-framed Avro value");
  const type = await typeOf(value.readInt32BE(1));
  return { record: type.name, value: type.fromBuffer(value.subarray(5)) };
}

const kafka = new Kafka({ clientId: "quikchat-analytics-example", brokers, logLevel: logLevel.WARN });
// kafkajs reads committed records only unless `readUncommitted: true`: keep it that way.
const consumer = kafka.consumer({ groupId, readUncommitted: false });
let lastRecordAt = Date.now();
// Joining the group takes a few seconds: the idle wait starts once the partitions are assigned.
consumer.on(consumer.events.GROUP_JOIN, () => (lastRecordAt = Date.now()));

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    lastRecordAt = Date.now();
    const { record, value } = await decode(message.value);
    // Records of one key (a conversation, user, call) arrive in order; meta.eventId deduplicates.
    const line = { topic, partition, offset: Number(message.offset), key: message.key?.toString() ?? null, record, value };
    console.log(JSON.stringify(line, (_key, item) => (typeof item === "bigint" ? item.toString() : item)));
  },
});

const stop = async () => {
  await consumer.disconnect();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
if (idleMs > 0) {
  setInterval(() => {
    if (Date.now() - lastRecordAt > idleMs) void stop();
  }, 250);
}
