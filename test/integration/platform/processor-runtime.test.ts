import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { ConfigResourceTypes, Partitioners } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { startProcessor, type ProcessorHandle } from "../../../src/platform/processor/processor-runtime.js";
import { projectRoot } from "../../../src/platform/config/project.js";
import { TOPICS } from "../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../src/infra/avro/avro-codec.js";
import { createKafkajs } from "../../../src/infra/kafka/kafkajs-client.js";
import { RecordProducer, type OutgoingRecord } from "../../../src/infra/kafka/record-producer.js";
import { topicConfig } from "../../../src/infra/kafka/topic-bootstrap.js";
import { createRedis } from "../../../src/infra/redis/redis-connection.js";
import { INVALID_EVENT_TITLE, THROWING_TITLE, faultyConversationsProcessor } from "../../support/processor-faulty-definition.js";
import { causationOf, commandIdOf, ConversationCommands, processorDeps, readTopic, ReplyListener, type ReadRecord } from "../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const prefix = uniquePrefix("proc");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "3" });
const logger = testLogger();
const topics = {
  commands: prefix + TOPICS.conversations.commands,
  events: prefix + TOPICS.conversations.events,
  state: prefix + TOPICS.conversations.state,
  dlq: prefix + TOPICS.conversations.dlq,
};
const gateway = `gw-${randomBytes(4).toString("hex")}`;
const commands = new ConversationCommands(topics.commands, gateway);
/** Short timeouts so that a killed instance's partitions move within seconds. */
const fastFailover = { sessionTimeoutMs: 6_000, transactionTimeoutMs: 5_000 };

const kafka = createKafkajs(config.kafka, logger);
const redis = createRedis(config.redis.url, logger, { name: "processor-test" });
const replies = new ReplyListener(config.redis.url, gateway, logger);
const registry = new Registry();
let codec: AvroCodec;
let producer: RecordProducer;
let processor: ProcessorHandle | undefined;

const start = (): Promise<ProcessorHandle> =>
  startProcessor(faultyConversationsProcessor, processorDeps(config, { codec, redis, logger, registry }), fastFailover);
const events = (): Promise<ReadRecord[]> => readTopic(config, topics.events, codec);
const eventsCausedBy = async (commandId: string): Promise<ReadRecord[]> => (await events()).filter((e) => causationOf(e) === commandId);

describe("the processor runtime", () => {
  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await replies.start();
    processor = await start();
  });

  afterAll(async () => {
    await processor?.close();
    await Promise.all([producer.close(), replies.close()]);
    redis.disconnect();
  });

  it("decides a command into exactly one event, co-partitioned with it, and answers the sender", async () => {
    const create = commands.create("c1", "u1", ["u2"]);
    await producer.send([create]);

    const [outcome] = await replies.of(commandIdOf(create));
    expect(outcome).toEqual({ commandId: commandIdOf(create), ok: true, result: { conversationId: "c1" } });

    const caused = await eventsCausedBy(commandIdOf(create));
    expect(caused).toHaveLength(1);
    expect(caused[0]).toMatchObject({ key: "c1", fullName: "quikchat.conversations.ConversationCreated" });
    expect(caused[0]!.value).toMatchObject({
      conversationId: "c1",
      createdBy: "u1",
      members: [
        { userId: "u1", role: "owner" },
        { userId: "u2", role: "member" },
      ],
      meta: { eventId: `${commandIdOf(create)}:0`, causationId: commandIdOf(create), actorId: "u1", workspaceId: "w1" },
    });
    const command = (await readTopic(config, topics.commands, codec)).find((record) => record.key === "c1");
    expect(caused[0]!.partition).toBe(command!.partition);
    const state = (await readTopic(config, topics.state, codec)).filter((record) => record.key === "c1");
    expect(state.map((record) => record.partition)).toEqual([command!.partition]);
    expect(JSON.parse(state[0]!.raw!.toString())).toMatchObject({ version: 1, state: { status: "active", members: { u1: "owner", u2: "member" } } });
  });

  it("answers a retried command with its first outcome and writes no new event", async () => {
    const add = commands.add("c1", "u1", "u3");
    await producer.send([add]);
    const [first] = await replies.of(commandIdOf(add));
    await producer.send([add]);
    const [, second] = await replies.of(commandIdOf(add), 2);
    expect(second).toEqual(first);
    expect(await eventsCausedBy(commandIdOf(add))).toHaveLength(1);
  });

  it("rejects what the domain refuses with its code, and writes no event", async () => {
    const intruder = commands.add("c1", "u9", "u10");
    await producer.send([intruder]);
    const [outcome] = await replies.of(commandIdOf(intruder));
    expect(outcome).toMatchObject({ ok: false, error: { code: "not_a_member" } });
    expect(await eventsCausedBy(commandIdOf(intruder))).toEqual([]);

    await producer.send([intruder]);
    const [, again] = await replies.of(commandIdOf(intruder), 2);
    expect(again).toEqual(outcome);
  });

  it("dead-letters undecodable records and decider failures, answers internal, and keeps the partition flowing", async () => {
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    await raw.send({ topic: topics.commands, messages: [{ key: "c1", value: Buffer.from("not avro") }] });
    await raw.disconnect();
    const throwing = commands.create("c-bug", "u1", [], { title: THROWING_TITLE });
    const invalid = commands.create("c-invalid", "u1", [], { title: INVALID_EVENT_TITLE });
    const next = commands.add("c1", "u1", "u4");
    await producer.send([throwing, invalid, next]);

    expect((await replies.of(commandIdOf(next)))[0]).toMatchObject({ ok: true });
    const internal = { ok: false, error: { code: "internal", message: "the command could not be processed" } };
    expect((await replies.of(commandIdOf(throwing)))[0]).toMatchObject(internal);
    expect((await replies.of(commandIdOf(invalid)))[0]).toMatchObject(internal);
    expect(await eventsCausedBy(commandIdOf(throwing))).toEqual([]);
    expect(await eventsCausedBy(commandIdOf(invalid))).toEqual([]);

    // Across partitions the dead letters arrive in any order.
    const order = ["undecodable", "decide_failed", "invalid_event"];
    const dead = (await readTopic(config, topics.dlq, codec)).sort(
      (a, b) => order.indexOf(a.headers.error_code!) - order.indexOf(b.headers.error_code!),
    );
    expect(dead.map((record) => record.headers.error_code)).toEqual(order);
    expect(dead[0]).toMatchObject({ key: "c1", headers: { source_topic: topics.commands, error: "not a Confluent-framed Avro record" } });
    expect(dead[0]!.raw!.toString()).toBe("not avro");
    expect(dead[1]).toMatchObject({ key: "c-bug", fullName: "quikchat.conversations.CreateConversation", headers: { error: "a bug in the decider" } });
    expect(dead[2]!.headers.error).toMatch(/does not match quikchat.conversations.ConversationCreated/);
    for (const record of dead) {
      const source = (await readTopic(config, topics.commands, codec)).find(
        (command) => command.partition === Number(record.headers.source_partition) && command.offset === Number(record.headers.source_offset),
      );
      expect(source?.raw).toEqual(record.raw);
    }

    const metrics = await registry.getSingleMetricAsString("quikchat_dlq_records_total");
    expect(metrics).toMatch(/quikchat_dlq_records_total\{context="conversations"\} 3/);
  });

  it("aborts a transaction that fails, rolls its state back and redoes the batch until it commits", async () => {
    // The broker refuses the changelog record once the topic only takes tiny records: every
    // attempt at the batch fails at commit and is aborted, until the limit is lifted.
    const admin = kafka.admin();
    await admin.connect();
    const stateConfig = (extra: { name: string; value: string }[]) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topics.state,
            configEntries: [...topicConfig({ name: topics.state, kind: "state", ephemeral: false }, config.kafka).configEntries!, ...extra],
          },
        ],
      });
    try {
      await stateConfig([{ name: "max.message.bytes", value: "200" }]);
      const add = commands.add("c1", "u1", "u7");
      await producer.send([add]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(replies.outcomes.filter((outcome) => outcome.commandId === commandIdOf(add))).toEqual([]);
      expect(await eventsCausedBy(commandIdOf(add))).toEqual([]);

      await stateConfig([]);
      expect((await replies.of(commandIdOf(add)))[0]).toMatchObject({ ok: true });
      // Had the aborted attempts' state survived, the retry would have found the command already answered and written nothing.
      expect(await eventsCausedBy(commandIdOf(add))).toHaveLength(1);
    } finally {
      await stateConfig([]).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it("restores aggregates and remembered outcomes from the changelog after a restart", async () => {
    const before = commands.add("c1", "u1", "u5");
    await producer.send([before]);
    const [answered] = await replies.of(commandIdOf(before));
    await processor!.close();
    await processor!.close();
    processor = await start();

    // u2 became a member when c1 was created, before the restart.
    const after = commands.add("c1", "u2", "u6");
    await producer.send([before, after]);
    expect((await replies.of(commandIdOf(after)))[0]).toMatchObject({ ok: true });
    expect((await replies.of(commandIdOf(before), 2))[1]).toEqual(answered);
    expect(await eventsCausedBy(commandIdOf(before))).toHaveLength(1);
    expect(await registry.getSingleMetricAsString("quikchat_processor_restore_seconds")).toMatch(/_count\{context="conversations"\} [1-9]/);
  });

  it("restores an aggregate whose older outcomes were stored apart, and answers a retry from them", async () => {
    // 60 outcomes: the first 50 form a full generation, written as a changelog record of its own.
    const id = `parts-${randomUUID().slice(0, 8)}`;
    const created = commands.create(id, "owner", []);
    const adds = Array.from({ length: 59 }, (_, i) => commands.add(id, "owner", `member-${i}`));
    await producer.send([created, ...adds]);
    const [first] = await replies.of(commandIdOf(created));
    for (const add of adds) await replies.of(commandIdOf(add));
    await processor!.close();
    processor = await start();

    await producer.send([created]);
    expect((await replies.of(commandIdOf(created), 2))[1]).toEqual(first);
    const next = commands.add(id, "owner", "member-59");
    await producer.send([next]);
    expect((await replies.of(commandIdOf(next)))[0]).toMatchObject({ ok: true });
    expect(await eventsCausedBy(commandIdOf(created))).toHaveLength(1);
  });

  it("decides every command exactly once, in order, when an instance is killed mid-batch", async () => {
    await processor!.close();
    processor = undefined;
    const run = randomUUID().slice(0, 8);
    const conversations = Array.from({ length: 30 }, (_, i) => `kill-${run}-${i}`);
    const batch = conversations.flatMap((id) => [
      commands.create(id, "owner", []),
      ...Array.from({ length: 9 }, (_, j) => commands.add(id, "owner", `member-${j}`)),
    ]);
    await producer.send(batch);

    const first = runProcessorProcess(`node-a-${run}`);
    // Another node takes over: with a transactional id of its own, it waits until the
    // coordinator has aborted the dead instance's open transaction (transaction timeout).
    let second: ChildRun | undefined;
    try {
      await eventually(() => Promise.resolve(countAnswered(batch) >= 40 ? true : undefined), 30_000, "the first instance to be processing");
      first.child.kill("SIGKILL");
      await first.exited;
      const answeredBeforeKill = countAnswered(batch);
      second = runProcessorProcess(`node-b-${run}`);

      const ids = new Set(batch.map(commandIdOf));
      const caused = await eventually(
        async () => {
          const found = (await events()).filter((event) => ids.has(causationOf(event) ?? ""));
          return found.length >= batch.length ? found : undefined;
        },
        45_000,
        "an event for every command",
      );
      expect(answeredBeforeKill).toBeLessThan(batch.length);
      expect(caused).toHaveLength(batch.length);
      expect(new Set(caused.map(causationOf))).toEqual(ids);
      for (const id of conversations) {
        const stream = caused.filter((event) => event.key === id);
        expect(stream.map((event) => (event.value as { userId?: string }).userId ?? "created")).toEqual([
          "created",
          ...Array.from({ length: 9 }, (_, j) => `member-${j}`),
        ]);
      }
      // A member added after the takeover was decided against the restored conversation, never refused.
      expect(replies.outcomes.filter((outcome) => ids.has(outcome.commandId) && !outcome.ok)).toEqual([]);
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGTERM");
      await Promise.all([first.exited, second?.exited]);
    }
  }, 60_000);
});

function countAnswered(batch: readonly OutgoingRecord[]): number {
  const ids = new Set(batch.map(commandIdOf));
  return new Set(replies.outcomes.filter((outcome) => ids.has(outcome.commandId)).map((outcome) => outcome.commandId)).size;
}

interface ChildRun {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

/** The conversations processor in a process of its own, in small batches so that it is killed with a transaction open. */
function runProcessorProcess(nodeName: string): ChildRun {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/processor-runner.ts"], {
    cwd: projectRoot(),
    env: {
      ...process.env,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: "3",
      NODE_NAME: nodeName,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      PROCESSOR_BATCH_SIZE: "5",
      PROCESSOR_SESSION_TIMEOUT_MS: String(fastFailover.sessionTimeoutMs),
      PROCESSOR_TRANSACTION_TIMEOUT_MS: String(fastFailover.transactionTimeoutMs),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Shown when the test fails (vitest prints a test's output); silent otherwise at the default log level.
  child.stdout.on("data", (chunk: Buffer) => process.stdout.write(chunk));
  child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, exited };
}
