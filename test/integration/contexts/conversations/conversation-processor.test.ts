import { randomBytes } from "node:crypto";
import { Partitioners } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import { conversationProcessor } from "../../../../src/contexts/conversations/processor.js";
import { startProcessor, type ProcessorHandle } from "../../../../src/platform/processor/processor-runtime.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { createKafkajs } from "../../../../src/infra/kafka/kafkajs-client.js";
import { RecordProducer, type OutgoingRecord } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import { causationOf, commandIdOf, ConversationCommands, MessageCommands, processorDeps, readTopic, ReplyListener, type ReadRecord } from "../../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";

const prefix = uniquePrefix("convproc");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "3" });
const logger = testLogger();
const topics = {
  conversations: {
    commands: prefix + TOPICS.conversations.commands,
    events: prefix + TOPICS.conversations.events,
    dlq: prefix + TOPICS.conversations.dlq,
  },
  messages: { commands: prefix + TOPICS.messages.commands, events: prefix + TOPICS.messages.events, dlq: prefix + TOPICS.messages.dlq },
  state: prefix + TOPICS.conversations.state,
};
const gateway = `gw-${randomBytes(4).toString("hex")}`;
const conversations = new ConversationCommands(topics.conversations.commands, gateway);
const messages = new MessageCommands(topics.messages.commands, gateway);
/** Short timeouts so that the group settles within seconds when an instance joins or leaves. */
const options = { sessionTimeoutMs: 6_000, transactionTimeoutMs: 5_000 };

const kafka = createKafkajs(config.kafka, logger);
const redis = createRedis(config.redis.url, logger, { name: "conversation-processor-test" });
const replies = new ReplyListener(config.redis.url, gateway, logger);
const registry = new Registry();
let codec: AvroCodec;
let producer: RecordProducer;
const instances: ProcessorHandle[] = [];

const start = (instanceId: string): Promise<ProcessorHandle> =>
  startProcessor(conversationProcessor, processorDeps(config, { codec, redis, logger, registry }), { ...options, instanceId });
const messageEvents = (): Promise<ReadRecord[]> => readTopic(config, topics.messages.events, codec);
const outcomeOf = async (record: OutgoingRecord, count = 1) => (await replies.of(commandIdOf(record), count))[count - 1];

describe("the conversation processor: membership and messages in one aggregate", () => {
  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await replies.start();
    instances.push(await start("a"));
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await Promise.all([producer.close(), replies.close()]);
    redis.disconnect();
  });

  it("numbers the messages of members 1..n, on the messages events topic, co-partitioned with the conversation", async () => {
    const create = conversations.create("c1", "u1", ["u2"]);
    await producer.send([create]);
    expect(await outcomeOf(create)).toEqual({ commandId: commandIdOf(create), ok: true, result: { conversationId: "c1", created: true } });

    const sends = [messages.send("c1", "u1", "hello"), messages.send("c1", "u2", "hi"), messages.send("c1", "u1", "how are you?")];
    await producer.send(sends);
    for (const [index, send] of sends.entries()) {
      const { meta, messageId } = send.value as { meta: { issuedAt: number }; messageId: string };
      expect(await outcomeOf(send)).toEqual({
        commandId: commandIdOf(send),
        ok: true,
        result: { id: messageId, seq: index + 1, sentAt: meta.issuedAt },
      });
    }

    const sent = (await messageEvents()).filter((event) => event.key === "c1");
    expect(sent.map((event) => [event.fullName, event.value?.seq, event.value?.senderId, event.value?.content])).toEqual([
      ["quikchat.messages.MessageSent", 1, "u1", "hello"],
      ["quikchat.messages.MessageSent", 2, "u2", "hi"],
      ["quikchat.messages.MessageSent", 3, "u1", "how are you?"],
    ]);
    const created = (await readTopic(config, topics.conversations.events, codec)).filter((event) => event.key === "c1");
    expect(created.map((event) => event.fullName)).toEqual(["quikchat.conversations.ConversationCreated"]);
    const state = (await readTopic(config, topics.state, codec)).filter((record) => record.key === "c1");
    expect(new Set([...sent, ...created, ...state].map((record) => record.partition))).toEqual(new Set([created[0]!.partition]));
    expect(JSON.parse(state.at(-1)!.raw!.toString())).toMatchObject({ version: 4, state: { status: "active", lastSeq: 3 } });
  });

  it("refuses a non-member's message, and takes the messages of a member added later", async () => {
    const intruder = messages.send("c1", "u9", "let me in");
    await producer.send([intruder]);
    expect(await outcomeOf(intruder)).toMatchObject({ ok: false, error: { code: "not_a_member" } });

    const add = conversations.add("c1", "u1", "u9");
    await producer.send([add]);
    expect(await outcomeOf(add)).toMatchObject({ ok: true, result: { conversationId: "c1" } });
    const welcome = messages.send("c1", "u9", "thanks");
    await producer.send([welcome]);
    expect(await outcomeOf(welcome)).toMatchObject({ ok: true, result: { seq: 4 } });

    const caused = (await messageEvents()).filter((event) => [commandIdOf(intruder), commandIdOf(welcome)].includes(causationOf(event) ?? ""));
    expect(caused.map((event) => [causationOf(event), event.value?.seq])).toEqual([[commandIdOf(welcome), 4]]);
  });

  it("answers a retried send with its first {id, seq, sentAt} and writes no second event", async () => {
    const send = messages.send("c1", "u2", "once");
    await producer.send([send]);
    const first = await outcomeOf(send);
    await producer.send([send]);
    expect(await outcomeOf(send, 2)).toEqual(first);
    expect(first).toMatchObject({ ok: true, result: { seq: 5, sentAt: expect.any(Number) } });
    expect((await messageEvents()).filter((event) => causationOf(event) === commandIdOf(send))).toHaveLength(1);

    const edit = messages.edit("c1", "u2", (send.value as { messageId: string }).messageId, "once, edited");
    await producer.send([edit]);
    expect(await outcomeOf(edit)).toMatchObject({ ok: true, result: { id: (send.value as { messageId: string }).messageId, seq: 5, revision: 1 } });
  });

  it("dead-letters a record to the DLQ of the topic it was read from", async () => {
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    await raw.send({ topic: topics.messages.commands, messages: [{ key: "c1", value: Buffer.from("not avro") }] });
    await raw.disconnect();
    // A conversations command on the messages topic is not a messages command.
    const astray: OutgoingRecord = { ...conversations.add("c1", "u1", "u7"), topic: topics.messages.commands };
    const after = messages.send("c1", "u1", "still flowing");
    await producer.send([astray, after]);

    expect(await outcomeOf(after)).toMatchObject({ ok: true, result: { seq: 6 } });
    expect(await outcomeOf(astray)).toMatchObject({ ok: false, error: { code: "internal" } });
    const dead = await readTopic(config, topics.messages.dlq, codec);
    expect(dead.map((record) => [record.headers.error_code, record.headers.source_topic])).toEqual([
      ["undecodable", topics.messages.commands],
      ["unknown_command", topics.messages.commands],
    ]);
    expect(await readTopic(config, topics.conversations.dlq, codec)).toEqual([]);
  });

  it("gives two instances the same partition numbers of both commands topics, and keeps deciding", async () => {
    const [first] = instances;
    instances.push(await start("b"));
    const owned = (instance: ProcessorHandle, topic: string): number[] =>
      instance
        .assignment()
        .filter((entry) => entry.topic === topic)
        .map((entry) => entry.partition)
        .sort();
    const split = await eventually(
      () => {
        const byInstance = instances.map((instance) => ({
          conversations: owned(instance, topics.conversations.commands),
          messages: owned(instance, topics.messages.commands),
        }));
        const total = byInstance.reduce((sum, { conversations, messages }) => sum + conversations.length + messages.length, 0);
        return Promise.resolve(total === 6 && byInstance.every(({ conversations }) => conversations.length > 0) ? byInstance : undefined);
      },
      30_000,
      "both instances to own partitions",
    );
    for (const { conversations: numbers, messages: same } of split) expect(same).toEqual(numbers);
    expect([...split[0]!.conversations, ...split[1]!.conversations].sort()).toEqual([0, 1, 2]);

    const send = messages.send("c1", "u1", "after the rebalance");
    await producer.send([send]);
    expect(await outcomeOf(send)).toMatchObject({ ok: true, result: { seq: 7 } });

    await instances.pop()!.close();
    await eventually(() => Promise.resolve(first!.assignment().length === 6 ? true : undefined), 30_000, "the first instance to own every partition");
    const last = messages.send("c1", "u2", "back to one instance");
    await producer.send([last]);
    expect(await outcomeOf(last)).toMatchObject({ ok: true, result: { seq: 8 } });
  }, 60_000);
});
