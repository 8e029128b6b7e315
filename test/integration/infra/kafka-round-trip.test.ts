import avro from "avsc";
import { Partitioners } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { loadSchemaCatalog } from "../../../src/platform/contract/schema-catalog.js";
import { AvroCodec } from "../../../src/infra/avro/avro-codec.js";
import { SchemaRegistryClient } from "../../../src/infra/avro/schema-registry-client.js";
import { createKafkajs } from "../../../src/infra/kafka/kafkajs-client.js";
import { RecordConsumer, type ConsumedRecord, type UndecodableRecord } from "../../../src/infra/kafka/record-consumer.js";
import { RecordProducer } from "../../../src/infra/kafka/record-producer.js";
import { ensureTopics } from "../../../src/infra/kafka/topic-bootstrap.js";
import { pino } from "pino";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const config = testConfig();
const logger = testLogger();
const prefix = uniquePrefix("roundtrip");
const topic = `${prefix}quikapp.messages.commands`;

const sendMessage = loadSchemaCatalog().find((record) => record.fullName === "quikchat.messages.SendMessage");
if (sendMessage === undefined) throw new Error("the contract has no quikchat.messages.SendMessage");

/** A newer version of the command as a future consumer would have it: one more optional field. */
const newerSchema = structuredClone(sendMessage.schema) as { fields: object[] };
newerSchema.fields.push({ name: "priority", type: ["null", "string"], default: null });

const command = {
  ...(sendMessage.type.random() as unknown as Record<string, unknown>),
  conversationId: "c1",
};

describe("a command's round trip through the registry and Kafka", () => {
  const registry = new SchemaRegistryClient(config.registry);
  const subject = `${prefix}${sendMessage.subject}`;
  const writerCodec = new AvroCodec(registry, [sendMessage.type].map((type) => ({ ...sendMessage, subject, type })));
  const readerCodec = new AvroCodec(registry, [
    { ...sendMessage, subject, schema: newerSchema, type: avro.Type.forSchema(newerSchema as avro.Schema) },
  ]);
  const kafka = createKafkajs(config.kafka, logger);
  const producer = new RecordProducer(config.kafka, writerCodec, logger);
  const consumer = new RecordConsumer(
    { brokers: config.kafka.brokers, clientId: "round-trip", groupId: `${prefix}group`, topics: [topic] },
    readerCodec,
    logger,
  );
  const received: ConsumedRecord[] = [];
  const undecodable: UndecodableRecord[] = [];

  afterAll(async () => {
    await Promise.all([producer.close(), consumer.close()]);
  });

  it("encodes with the writer's schema and decodes into a newer reader schema", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, kind: "commands", ephemeral: false }], config.kafka);
    await admin.disconnect();
    await writerCodec.registerAll();

    await consumer.start({
      onBatch: (records) => Promise.resolve(void received.push(...records)),
      onUndecodable: (record) => Promise.resolve(void undecodable.push(record)),
    });
    await producer.send([{ topic, key: "c1", fullName: sendMessage.fullName, value: command, headers: { correlation: "x" } }]);

    const [record] = await eventually(() => Promise.resolve(received.length > 0 ? received : undefined), 30_000, "the record");
    expect(record).toMatchObject({ topic, key: "c1", fullName: sendMessage.fullName, headers: { correlation: "x" } });
    expect(record!.value).toEqual({ ...command, priority: null });
    expect(undecodable).toEqual([]);
  });

  it("hands undecodable bytes to the caller and keeps consuming", async () => {
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    await raw.send({ topic, messages: [{ key: "c1", value: Buffer.from("not avro") }] });
    await raw.disconnect();
    await producer.send([{ topic, key: "c1", fullName: sendMessage.fullName, value: command }]);

    await eventually(() => Promise.resolve(received.length >= 2 ? true : undefined), 30_000, "the next record");
    expect(undecodable).toHaveLength(1);
    expect(undecodable[0]!.value?.toString()).toBe("not avro");
    expect(undecodable[0]!.error.message).toMatch(/not a Confluent-framed Avro record/);
  });

  it("refuses a value that does not match its schema before sending", async () => {
    await expect(
      producer.send([{ topic, key: "c1", fullName: sendMessage.fullName, value: { ...command, conversationId: 42 } }]),
    ).rejects.toThrow(/invalid conversationId/);
  });

  it("replaces its client after a record times out, and the next send goes through", async () => {
    const warnings: string[] = [];
    const capture = pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) });
    const shortLived = new RecordProducer({ ...config.kafka, messageTimeoutMs: 1_000 }, writerCodec, capture);
    try {
      // A topic that does not exist: nothing can acknowledge the record, which times out.
      await expect(
        shortLived.send([{ topic: `${prefix}quikapp.nowhere`, key: "c1", fullName: sendMessage.fullName, value: command }]),
      ).rejects.toThrow(/timed out/i);

      expect(warnings.some((line) => line.includes("kafka producer replaced"))).toBe(true);
      await shortLived.send([{ topic, key: "c1", fullName: sendMessage.fullName, value: command }]);
    } finally {
      await shortLived.close();
    }
  });
});
