import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { presenceProcessor } from "../../../src/contexts/presence/processor.js";
import type { ProcessorDefinition } from "../../../src/platform/processor/processor-definition.js";
import { startProcessor, type ProcessorHandle } from "../../../src/platform/processor/processor-runtime.js";
import { typingProcessor } from "../../../src/contexts/typing/processor.js";
import type { CommandMeta, ConnectClient, PresenceHeartbeat, StartTyping } from "../../../src/platform/contract/generated/avro-types.js";
import { TOPICS, type CommandContext } from "../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../src/infra/avro/avro-codec.js";
import { RecordProducer, type OutgoingRecord } from "../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../src/infra/redis/redis-connection.js";
import { processorDeps, readTopic, type ReadRecord } from "../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const prefix = uniquePrefix("timers");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const topic = (context: "typing" | "presence", kind: "commands" | "events"): string => prefix + TOPICS[context][kind];

const redis = createRedis(config.redis.url, logger, { name: "processor-timers-test" });
const registry = new Registry();
let codec: AvroCodec;
let producer: RecordProducer;
const running = new Set<ProcessorHandle>();

/** Starts a processor and waits until the group has given it its partitions (restored). */
async function run<Ctx extends CommandContext, S>(definition: ProcessorDefinition<Ctx, S>): Promise<ProcessorHandle> {
  const handle = await startProcessor(definition, processorDeps(config, { codec, redis, logger, registry }), { sessionTimeoutMs: 6_000, transactionTimeoutMs: 5_000 });
  running.add(handle);
  await eventually(() => Promise.resolve(handle.assignment().length > 0 ? true : undefined), 30_000, "partitions assigned");
  return handle;
}

async function stop(handle: ProcessorHandle): Promise<void> {
  await handle.close();
  running.delete(handle);
}

const meta = (actorId: string, issuedAt = Date.now()): CommandMeta => ({
  commandId: randomUUID(),
  correlationId: randomUUID(),
  actorId,
  workspaceId: "w1",
  issuedAt,
  replyTo: null,
});

const startTyping = (conversationId: string, userId: string): OutgoingRecord => {
  const value: StartTyping = { meta: meta(userId), conversationId, userId };
  return { topic: topic("typing", "commands"), key: conversationId, fullName: "quikchat.typing.StartTyping", value };
};
const connectClient = (userId: string, connectionId: string): OutgoingRecord => {
  const value: ConnectClient = { meta: meta(userId), userId, connectionId, deviceId: null, gatewayId: "gw-1", platform: "web" };
  return { topic: topic("presence", "commands"), key: userId, fullName: "quikchat.presence.ConnectClient", value };
};
const heartbeat = (userId: string, connectionId: string): OutgoingRecord => {
  const value: PresenceHeartbeat = { meta: meta(userId), userId, connectionId };
  return { topic: topic("presence", "commands"), key: userId, fullName: "quikchat.presence.PresenceHeartbeat", value };
};
const issuedAtOf = (record: OutgoingRecord): number => (record.value as { meta: CommandMeta }).meta.issuedAt;

/** The records of one aggregate on a topic, in log order. */
async function recordsOf(topicName: string, key: string): Promise<ReadRecord[]> {
  return (await readTopic(config, topicName, codec)).filter((record) => record.key === key).sort((a, b) => a.offset - b.offset);
}
const typeOf = (record: ReadRecord): string => record.fullName?.split(".").pop() ?? "?";
const metaOf = (record: ReadRecord) => record.value!.meta as { occurredAt: number; causationId: string | null; actorId: string; correlationId: string };
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the aggregate's events include `count` of `type`; returns all of them. */
function eventsUntil(context: "typing" | "presence", key: string, type: string, count = 1): Promise<ReadRecord[]> {
  return eventually(
    async () => {
      const records = await recordsOf(topic(context, "events"), key);
      return records.filter((record) => typeOf(record) === type).length >= count ? records : undefined;
    },
    20_000,
    `${count} ${type} for ${key}`,
  );
}

describe("processor timers", () => {
  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
  });

  afterEach(async () => {
    await Promise.all([...running].map((handle) => stop(handle)));
  });

  afterAll(async () => {
    await producer.close();
    redis.disconnect();
  });

  describe("typing (timeout 500 ms)", () => {
    it("stops an indicator nobody renews at its deadline, by itself, through a timer command on the commands topic", async () => {
      await run(typingProcessor({ timeoutMs: 500 }));
      const start = startTyping("c-expire", "u1");
      await producer.send([start]);

      const events = await eventsUntil("typing", "c-expire", "TypingStopped");
      const foundAt = Date.now();
      expect(events.map(typeOf)).toEqual(["TypingStarted", "TypingStopped"]);
      const deadline = issuedAtOf(start) + 500;
      expect(events[0]!.value).toMatchObject({ userId: "u1", expiresAt: deadline });
      const commandId = `timer:c-expire:ExpireTyping:${deadline}`;
      expect(events[1]!.value).toMatchObject({
        conversationId: "c-expire",
        userId: "u1",
        reason: "expired",
        meta: { occurredAt: deadline, causationId: commandId, correlationId: commandId, actorId: "system:timer", workspaceId: "w1" },
      });
      expect(foundAt - deadline).toBeLessThan(10_000);

      const commands = await recordsOf(topic("typing", "commands"), "c-expire");
      expect(commands.map(typeOf)).toEqual(["StartTyping", "ExpireTyping"]);
      expect(commands[1]!.partition).toBe(commands[0]!.partition);
      expect(commands[1]!.value).toEqual({
        meta: { commandId, correlationId: commandId, actorId: "system:timer", workspaceId: "w1", issuedAt: deadline, replyTo: null },
        conversationId: "c-expire",
        userId: "u1",
        deadline,
      });
      expect(await registry.getSingleMetricAsString("quikchat_timer_commands_total")).toMatch(/\{context="typing"\} [1-9]/);
    });

    it("postpones the expiry when the indicator is renewed before its deadline", async () => {
      await run(typingProcessor({ timeoutMs: 500 }));
      const first = startTyping("c-renew", "u1");
      await producer.send([first]);
      await pause(250);
      const renewal = startTyping("c-renew", "u1");
      await producer.send([renewal]);

      const events = await eventsUntil("typing", "c-renew", "TypingStopped");
      expect(events.map(typeOf)).toEqual(["TypingStarted", "TypingStarted", "TypingStopped"]);
      expect(metaOf(events[2]!).occurredAt).toBe(issuedAtOf(renewal) + 500);
      expect(issuedAtOf(renewal) + 500).toBeGreaterThan(issuedAtOf(first) + 500);

      await pause(1_500);
      expect((await recordsOf(topic("typing", "events"), "c-renew")).map(typeOf)).toEqual(["TypingStarted", "TypingStarted", "TypingStopped"]);
    });
  });

  it("fires a deadline restored from the changelog after a restart, exactly once", async () => {
    // A longer timeout, so that the first instance is closed well before the deadline.
    const definition = typingProcessor({ timeoutMs: 4_000 });
    const first = await run(definition);
    const start = startTyping("c-restart", "u1");
    await producer.send([start]);
    await eventsUntil("typing", "c-restart", "TypingStarted");
    await stop(first);
    const deadline = issuedAtOf(start) + 4_000;
    expect(Date.now(), "the first instance closed before the deadline").toBeLessThan(deadline);

    await run(definition);
    const events = await eventsUntil("typing", "c-restart", "TypingStopped");
    expect(events.map(typeOf)).toEqual(["TypingStarted", "TypingStopped"]);
    expect(metaOf(events[1]!)).toMatchObject({ occurredAt: deadline, causationId: `timer:c-restart:ExpireTyping:${deadline}` });

    await pause(1_500);
    expect((await recordsOf(topic("typing", "events"), "c-restart")).map(typeOf)).toEqual(["TypingStarted", "TypingStopped"]);
  });

  describe("presence (connection TTL 800 ms)", () => {
    it("closes a connection without heartbeats and makes its user offline, by itself", async () => {
      await run(presenceProcessor({ connectionTtlMs: 800 }));
      const connect = connectClient("u-stale", "k1");
      await producer.send([connect]);

      const events = await eventsUntil("presence", "u-stale", "UserOffline");
      expect(events.map(typeOf)).toEqual(["ConnectionOpened", "UserOnline", "ConnectionClosed", "UserOffline"]);
      const deadline = issuedAtOf(connect) + 800;
      expect(events[0]!.value).toMatchObject({ connectionId: "k1", expiresAt: deadline });
      expect(events[2]!.value).toMatchObject({ connectionId: "k1", gatewayId: "gw-1", reason: "stale" });
      expect(events[3]!.value).toMatchObject({ userId: "u-stale", lastSeenAt: issuedAtOf(connect) });
      expect(metaOf(events[3]!)).toMatchObject({ occurredAt: deadline, actorId: "system:timer", causationId: `timer:u-stale:ExpirePresence:${deadline}` });
    });

    it("keeps a connection that sends heartbeats until they stop", async () => {
      await run(presenceProcessor({ connectionTtlMs: 800 }));
      const connect = connectClient("u-alive", "k1");
      await producer.send([connect]);
      await pause(400);
      const beat = heartbeat("u-alive", "k1");
      await producer.send([beat]);

      const events = await eventsUntil("presence", "u-alive", "UserOffline");
      expect(events.map(typeOf)).toEqual(["ConnectionOpened", "UserOnline", "ConnectionRefreshed", "ConnectionClosed", "UserOffline"]);
      expect(metaOf(events[3]!).occurredAt).toBe(issuedAtOf(beat) + 800);
      expect(events[4]!.value).toMatchObject({ lastSeenAt: issuedAtOf(beat) });
    });
  });
});
