import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type { EventMeta, TypingStarted, TypingStopped } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import { conversationDeltaChannel, type ConversationDelta } from "../../../../src/contexts/conversations/projections/history/history-port.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { RedisTypingStore } from "../../../../src/contexts/typing/projections/typing/redis-typing-store.js";
import { typingKeys } from "../../../../src/contexts/typing/projections/typing/typing-model.js";
import { startTypingProjection } from "../../../../src/contexts/typing/projections/typing/typing-projection.js";
import { TypingReadModel } from "../../../../src/contexts/typing/projections/typing/typing-read-model.js";
import { eventually, testConfig, testLogger, uniquePrefix, untilProjectionLive } from "../../../support/test-config.js";

const logger = testLogger();
const prefix = uniquePrefix("typing");
// One partition: the warm-up delta then proves the partition the test writes to is live.
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "1" });
const topic = prefix + TOPICS.typing.events;
const keys = typingKeys(prefix);

const meta = (at: number): EventMeta => ({
  eventId: `e-${at}-${Math.random()}`,
  occurredAt: at,
  correlationId: `c-${at}`,
  causationId: null,
  actorId: "alice",
  workspaceId: "w1",
});
const started = (conversationId: string, userId: string, at: number, expiresAt: number): TypingStarted => ({
  meta: meta(at),
  conversationId,
  userId,
  expiresAt,
});
const stopped = (conversationId: string, userId: string, at: number, reason: "stopped" | "expired" = "stopped"): TypingStopped => ({
  meta: meta(at),
  conversationId,
  userId,
  reason,
});

describe("the typing projection", () => {
  const redis = createRedis(config.redis.url, logger, { name: "typing-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "typing-test-sub" });
  const readModel = new TypingReadModel(redis, prefix);
  const registry = new Registry();
  const deltas: ConversationDelta[] = [];
  let producer: RecordProducer;
  let projection: ProjectionRuntime | undefined;

  const send = (records: { fullName: string; value: { conversationId: string } }[]) =>
    producer.send(records.map(({ fullName, value }) => ({ topic, key: value.conversationId, fullName: `quikchat.typing.${fullName}`, value })));
  const ofC1 = () => deltas.filter((delta) => delta.conversationId === "c1");
  const activeGauge = async () => (await registry.getSingleMetric("typing_active_users")?.get())?.values[0]?.value;

  beforeAll(async () => {
    const { codec } = await bootstrapContract(config, logger);
    producer = new RecordProducer(config.kafka, codec, logger);
    subscriber.on("message", (_channel: string, message: string) => deltas.push(JSON.parse(message) as ConversationDelta));
    await subscriber.subscribe(conversationDeltaChannel(prefix, "c1"), conversationDeltaChannel(prefix, "warmup"));
    projection = await startTypingProjection({ config, codec, redis, logger, registry });
    await untilProjectionLive(
      // Already expired: live enough to announce, never counted as active.
      (n) => send([{ fullName: "TypingStarted", value: started("warmup", `user-${n}`, Date.now() - 2_000, Date.now() - 1_000) }]),
      () => deltas.some((delta) => delta.conversationId === "warmup"),
    );
  });

  afterAll(async () => {
    await projection?.close();
    await producer.close();
    const all = await redis.keys(`${prefix}*`);
    if (all.length > 0) await redis.del(...all);
    await Promise.all([redis.quit(), subscriber.quit()]);
  });

  it("announces a start, not a renewal, and the stop; the read model lists who types until then", async () => {
    const now = Date.now();
    await send([{ fullName: "TypingStarted", value: started("c1", "alice", now, now + 30_000) }]);
    await eventually(async () => (ofC1().length === 1 ? true : undefined), 15_000, "alice's start");
    expect(ofC1()).toEqual([{ kind: "typing", conversationId: "c1", userId: "alice", typing: true }]);
    expect(await readModel.typingUsers("c1", Date.now())).toEqual([{ user_id: "alice", expires_at: now + 30_000 }]);
    expect(await activeGauge()).toBe(1);

    // The renewal and the stop share the partition: once the stop is announced, the renewal was applied.
    await send([{ fullName: "TypingStarted", value: started("c1", "alice", now + 1_000, now + 40_000) }]);
    await eventually(async () => ((await readModel.typingUsers("c1", Date.now()))[0]?.expires_at === now + 40_000 ? true : undefined), 15_000, "the renewal");
    await send([{ fullName: "TypingStopped", value: stopped("c1", "alice", now + 2_000) }]);
    await eventually(async () => (ofC1().length >= 2 ? true : undefined), 15_000, "alice's stop");
    expect(ofC1()).toEqual([
      { kind: "typing", conversationId: "c1", userId: "alice", typing: true },
      { kind: "typing", conversationId: "c1", userId: "alice", typing: false },
    ]);
    expect(await readModel.typingUsers("c1", Date.now())).toEqual([]);
    expect(await redis.exists(keys.conversation("c1"))).toBe(0);
    expect(await activeGauge()).toBe(0);
  });

  it("announces an expiry as a stop, and ignores a stop of an indicator already gone", async () => {
    deltas.length = 0;
    const now = Date.now();
    await send([
      { fullName: "TypingStarted", value: started("c1", "bob", now, now + 5_000) },
      { fullName: "TypingStopped", value: stopped("c1", "bob", now + 5_000, "expired") },
      { fullName: "TypingStopped", value: stopped("c1", "bob", now + 5_001) },
      { fullName: "TypingStarted", value: started("c1", "carol", now, now + 30_000) },
    ]);
    await eventually(async () => (ofC1().some((delta) => delta.kind === "typing" && delta.userId === "carol") ? true : undefined), 15_000, "carol's start");
    expect(ofC1()).toEqual([
      { kind: "typing", conversationId: "c1", userId: "bob", typing: true },
      { kind: "typing", conversationId: "c1", userId: "bob", typing: false },
      { kind: "typing", conversationId: "c1", userId: "carol", typing: true },
    ]);
    expect((await readModel.typingUsers("c1", Date.now())).map((user) => user.user_id)).toEqual(["carol"]);
    // Nothing is listed once its deadline passed, even before anything removes it.
    expect(await readModel.typingUsers("c1", now + 30_000)).toEqual([]);
  });

  it("changes nothing when records below the checkpoint come again", async () => {
    const store = new RedisTypingStore(createRedis(config.redis.url, logger, { name: "typing-test-store" }), prefix);
    try {
      const next = (await store.checkpoints(topic)).get(0)!;
      expect(next).toBeGreaterThan(0);
      const before = await redis.zrange(keys.conversation("c1"), 0, -1, "WITHSCORES");
      const replay = Array.from({ length: next }, (_, offset) => ({
        topic,
        partition: 0,
        offset,
        key: "c1",
        timestamp: 0,
        headers: {},
        fullName: "quikchat.typing.TypingStarted",
        value: started("c1", `replayed-${offset}`, Date.now(), Date.now() + 30_000),
      }));
      expect(await store.apply(topic, 0, replay)).toEqual([]);
      expect(await redis.zrange(keys.conversation("c1"), 0, -1, "WITHSCORES")).toEqual(before);
      expect((await store.checkpoints(topic)).get(0)).toBe(next);
    } finally {
      await store.close();
    }
  });
});
