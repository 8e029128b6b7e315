import { randomBytes, randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import { huddleProcessor } from "../../../../src/contexts/huddles/processor.js";
import { lostConnectionKeys } from "../../../../src/contexts/huddles/projections/lost-connections/lost-connections-model.js";
import { startHuddleConnectionsProjection, startLostConnectionsProjection } from "../../../../src/contexts/huddles/projections/lost-connections/lost-connections-policy.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { RecordProducer, type OutgoingRecord } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { startProcessor, type ProcessorHandle } from "../../../../src/platform/processor/processor-runtime.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { HuddleCommands, huddleEvents, typeOf } from "../../../support/huddle-harness.js";
import { processorDeps, ReplyListener, type ReadRecord } from "../../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";

const prefix = uniquePrefix("huddle-lost");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const topics = { commands: prefix + TOPICS.huddles.commands, events: prefix + TOPICS.huddles.events, presence: prefix + TOPICS.presence.events };
const keys = lostConnectionKeys(prefix);
const gateway = `gw-${randomBytes(4).toString("hex")}`;

const redis = createRedis(config.redis.url, logger, { name: "huddle-lost-connections-test" });
const replies = new ReplyListener(config.redis.url, gateway, logger);
const registry = new Registry();
let codec: AvroCodec;
let producer: RecordProducer;
let processor: ProcessorHandle;
let policy: ProjectionRuntime[] = [];

const { create, join, send } = new HuddleCommands(topics.commands, () => producer, replies);

/** What the presence processor writes when a connection ends, here written directly. */
function connectionClosed(userId: string, connectionId: string, reason: "disconnected" | "stale" | "gateway_down"): OutgoingRecord {
  const meta: EventMeta = { eventId: randomUUID(), occurredAt: Date.now(), correlationId: randomUUID(), causationId: null, actorId: "system:presence-sweeper", workspaceId: "w1" };
  return { topic: topics.presence, key: userId, fullName: "quikchat.presence.ConnectionClosed", value: { meta, userId, connectionId, gatewayId: "gw-dead", reason } };
}

const eventsOf = (huddleId: string) => huddleEvents(config, topics.events, codec, huddleId);
const lostOf = (events: readonly ReadRecord[]) => events.filter((event) => typeOf(event) === "HuddleParticipantLeft" && event.value?.reason === "connection_lost").map((event) => event.value?.userId);

async function startPolicy(): Promise<void> {
  const deps = { config, codec, logger };
  policy = [await startHuddleConnectionsProjection(deps), await startLostConnectionsProjection(deps)];
}
async function stopPolicy(): Promise<void> {
  await Promise.all(policy.map((runtime) => runtime.close()));
  policy = [];
}

describe("the presence policy of huddles against Kafka and Redis", () => {
  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await replies.start();
    processor = await startProcessor(huddleProcessor({ maxParticipants: 16, emptyTimeoutMs: 0 }), processorDeps(config, { codec, redis, logger, registry }), {
      sessionTimeoutMs: 6_000,
      transactionTimeoutMs: 5_000,
    });
    await eventually(() => Promise.resolve(processor.assignment().length > 0 ? true : undefined), 30_000, "partitions assigned");
    await startPolicy();
  });

  afterAll(async () => {
    await stopPolicy();
    await processor?.close();
    await Promise.all([producer?.close(), replies.close()]);
    const all = await redis.keys(`${prefix}*`);
    if (all.length > 0) await redis.del(...all);
    redis.disconnect();
  });

  it("removes the participant of a closed connection with connection_lost, once, and only from that connection", async () => {
    const huddle = "h-lost";
    expect(await send(create("alice", huddle, ["bob", "carol"]))).toMatchObject({ ok: true });
    expect(await send(join("bob", huddle, "bob-c1"))).toMatchObject({ ok: true });
    expect(await send(join("carol", huddle, "carol-c1"))).toMatchObject({ ok: true });
    // carol moved to another connection: the old one's end must not take her out.
    expect(await send(join("carol", huddle, "carol-c2"))).toMatchObject({ ok: true });
    await eventually(async () => ((await redis.hlen(keys.huddle(huddle))) === 3 ? true : undefined), 30_000, "the participants' connections");

    await producer.send([connectionClosed("bob", "bob-c1", "gateway_down"), connectionClosed("carol", "carol-c1", "disconnected"), connectionClosed("zoe", "zoe-c1", "stale")]);
    const events = await eventually(async () => {
      const found = await eventsOf(huddle);
      return lostOf(found).length > 0 ? found : undefined;
    }, 30_000, "bob's removal");
    expect(events.at(-1)!.value).toMatchObject({ userId: "bob", reason: "connection_lost", meta: { actorId: "system:presence" } });
    // Nothing follows for carol's old connection nor for a connection in no huddle.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(lostOf(await eventsOf(huddle))).toEqual(["bob"]);
    await eventually(async () => ((await redis.exists(keys.connection("bob-c1"))) === 0 ? true : undefined), 30_000, "bob's connection forgotten");
    expect((await redis.hkeys(keys.huddle(huddle))).sort()).toEqual(["alice", "carol"]);
    expect(JSON.parse((await redis.hget(keys.huddle(huddle), "carol")) ?? "null")).toEqual({ connectionId: "carol-c2", workspaceId: "w1" });
  });

  it("removes a participant whose join is read after their connection's close", async () => {
    const huddle = "h-late-join";
    expect(await send(create("alice", huddle, ["dave"]))).toMatchObject({ ok: true });
    await producer.send([connectionClosed("dave", "dave-c1", "disconnected")]);
    await eventually(async () => ((await redis.exists(keys.closed("dave-c1"))) === 1 ? true : undefined), 30_000, "the close remembered");
    expect(await send(join("dave", huddle, "dave-c1"))).toMatchObject({ ok: true });
    const events = await eventually(async () => {
      const found = await eventsOf(huddle);
      return lostOf(found).length > 0 ? found : undefined;
    }, 30_000, "dave's removal");
    expect(lostOf(events)).toEqual(["dave"]);
    expect(await redis.pttl(keys.closed("dave-c1"))).toBeGreaterThan(59 * 60_000);
  });

  it("ends the huddle when its last participant's connection is lost", async () => {
    const huddle = "h-last";
    expect(await send(create("erin", huddle, ["frank"]))).toMatchObject({ ok: true });
    await eventually(async () => ((await redis.hlen(keys.huddle(huddle))) === 1 ? true : undefined), 30_000, "erin's connection");
    await producer.send([connectionClosed("erin", "erin-c1", "stale")]);
    const events = await eventually(async () => {
      const found = await eventsOf(huddle);
      return found.some((event) => typeOf(event) === "HuddleEnded") ? found : undefined;
    }, 30_000, "the end of the empty huddle");
    expect(events.slice(-2).map((event) => [typeOf(event), event.value?.reason])).toEqual([
      ["HuddleParticipantLeft", "connection_lost"],
      ["HuddleEnded", "empty"],
    ]);
    await eventually(async () => ((await redis.exists(keys.huddle(huddle))) === 0 ? true : undefined), 30_000, "the ended huddle forgotten");
  });

  it("removes nobody twice when it reads everything again from the beginning", async () => {
    const before = await Promise.all(["h-lost", "h-late-join", "h-last"].map(eventsOf));
    await stopPolicy();
    await redis.del(keys.participations.checkpoint, keys.lost.checkpoint);
    await startPolicy();
    // Five ConnectionClosed were written so far, without transactions: one offset each.
    await eventually(async () => {
      const next = Object.values(await redis.hgetall(keys.lost.checkpoint)).reduce((sum, offset) => sum + Number(offset), 0);
      return next === 5 ? true : undefined;
    }, 60_000, "the closes read again");
    const huddle = "h-after-replay";
    expect(await send(create("gina", huddle, ["hal"]))).toMatchObject({ ok: true });
    expect(await send(join("hal", huddle, "hal-c1"))).toMatchObject({ ok: true });
    await eventually(async () => ((await redis.hlen(keys.huddle(huddle))) === 2 ? true : undefined), 60_000, "the new huddle's connections");
    await producer.send([connectionClosed("hal", "hal-c1", "gateway_down")]);
    await eventually(async () => (lostOf(await eventsOf(huddle)).length === 1 ? true : undefined), 30_000, "hal's removal");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(lostOf(await eventsOf(huddle))).toEqual(["hal"]);
    const after = await Promise.all(["h-lost", "h-late-join", "h-last"].map(eventsOf));
    expect(after.map((events) => events.map(typeOf))).toEqual(before.map((events) => events.map(typeOf)));
  });
});
