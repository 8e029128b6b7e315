import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { openProjectionTools, ProjectionToolError, type ProjectionTools } from "../../../src/cli/projection-tools.js";
import type {
  ConnectionClosed,
  ConnectionOpened,
  EventMeta,
  MessageSent,
  StatusChanged,
  UserOffline,
  UserOnline,
} from "../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../src/infra/avro/avro-codec.js";
import { RecordProducer } from "../../../src/infra/kafka/record-producer.js";
import { projectionMetrics } from "../../../src/infra/metrics/service-metrics.js";
import { createMongoClient } from "../../../src/infra/mongo/mongo-connection.js";
import { createRedis } from "../../../src/infra/redis/redis-connection.js";
import { createMysqlPool, tablePrefixOf } from "../../../src/infra/mysql/mysql-pool.js";
import { createHistoryStore, startHistoryProjection } from "../../../src/contexts/conversations/projections/history/history-projection.js";
import { conversationDeltaChannel, type HistoryMessage } from "../../../src/contexts/conversations/projections/history/history-port.js";
import { readPositionsStore } from "../../../src/contexts/conversations/projections/membership/read-positions-projection.js";
import { startPresenceProjection } from "../../../src/contexts/presence/projections/presence/presence-projection.js";
import type { RebuildProgress } from "../../../src/platform/projection/rebuild.js";
import { messageSent } from "../../support/message-events.js";
import { runCli } from "../../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const logger = testLogger();

const meta = (n: number): EventMeta => ({
  eventId: `e-${n}-${Math.random()}`,
  occurredAt: 1_700_000_000_000 + n,
  correlationId: `c-${n}`,
  causationId: null,
  actorId: "alice",
  workspaceId: "w1",
});
const sent = (conversationId: string, seq: number): MessageSent => messageSent(conversationId, seq, meta(seq));

/** A day of presence for users u0…u5 of w1: connects, a second device, a status change, a sign-off. */
function presenceDay(): { fullName: string; value: { userId: string } }[] {
  const at = (n: number) => ({ ...meta(n), actorId: "gateway" });
  const opened = (userId: string, connectionId: string, n: number): ConnectionOpened => ({
    meta: at(n),
    userId,
    connectionId,
    deviceId: `device-${connectionId}`,
    gatewayId: "g1",
    platform: "web",
    expiresAt: 1_700_000_060_000 + n,
  });
  const online = (userId: string, n: number): UserOnline => ({ meta: at(n), userId, status: "online", statusText: null });
  const away: StatusChanged = { meta: at(200), userId: "u1", status: "away", previousStatus: "online", statusText: "lunch" };
  const closed: ConnectionClosed = { meta: at(300), userId: "u2", connectionId: "u2-a", gatewayId: "g1", reason: "disconnected" };
  const offline: UserOffline = { meta: at(301), userId: "u2", lastSeenAt: 1_700_000_000_301 };
  const users = ["u0", "u1", "u2", "u3", "u4", "u5"];
  return [
    ...users.flatMap((userId, n) => [
      { fullName: "ConnectionOpened", value: opened(userId, `${userId}-a`, 100 + n) },
      { fullName: "UserOnline", value: online(userId, 100 + n) },
    ]),
    { fullName: "ConnectionOpened", value: opened("u1", "u1-b", 150) },
    { fullName: "StatusChanged", value: away },
    { fullName: "ConnectionClosed", value: closed },
    { fullName: "UserOffline", value: offline },
  ].map(({ fullName, value }) => ({ fullName: `quikchat.presence.${fullName}`, value }));
}

describe("the projection tools", () => {
  const prefix = uniquePrefix("ptools");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "3", HISTORY_STORE: "mysql" });
  const topic = prefix + TOPICS.messages.events;
  const conversations = ["c1", "c2", "c3", "c4"];
  const perConversation = 25;
  const pool = createMysqlPool(config.mysql.url, 2);
  const mongo = createMongoClient(config.mongo.url);
  const redis = createRedis(config.redis.url, logger, { name: "tools-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "tools-test-sub" });
  const store = createHistoryStore(config.conversations.historyStore, config.kafka.topicPrefix, { pool, mongo });
  const published: string[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let tools: ProjectionTools;

  /** Every key under `pattern` with its content: hashes as objects, sorted sets as member/score lists. */
  const contents = async (pattern: string): Promise<Record<string, unknown>> => {
    const keys = (await redis.keys(pattern)).sort();
    const values = await Promise.all(
      keys.map(async (key) => ((await redis.type(key)) === "hash" ? redis.hgetall(key) : redis.zrange(key, 0, -1, "WITHSCORES"))),
    );
    return Object.fromEntries(keys.map((key, index) => [key, values[index]]));
  };
  const history = async (): Promise<Record<string, HistoryMessage[]>> =>
    Object.fromEntries(await Promise.all(conversations.map(async (id) => [id, await store.messages(id, { limit: 1000 })] as const)));
  const send = (records: MessageSent[]) =>
    producer.send(records.map((value) => ({ topic, key: value.conversationId, fullName: "quikchat.messages.MessageSent", value })));

  beforeAll(async () => {
    ({ codec } = await bootstrapContract(config, logger));
    producer = new RecordProducer(config.kafka, codec, logger);
    await send(conversations.flatMap((id) => Array.from({ length: perConversation }, (_, i) => sent(id, i + 1))));
    subscriber.on("pmessage", (_pattern, channel) => published.push(channel));
    await subscriber.psubscribe(`${prefix}*`);
    tools = await openProjectionTools(config, logger, codec);
  });

  afterAll(async () => {
    await tools.close();
    await producer.close();
    const tables = tablePrefixOf(config.kafka.topicPrefix);
    for (const table of ["message_reactions", "messages", "conversation_members", "conversations", "conversation_activity", "conversation_reads", "projection_checkpoints"]) {
      await pool.query(`DROP TABLE IF EXISTS \`${tables}${table}\``);
    }
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await Promise.all([pool.end(), mongo.close(), redis.quit(), subscriber.quit()]);
  });

  it("rebuilds history from the topic, with a progress report, and shows no lag after", async () => {
    const progress: RebuildProgress[] = [];
    const result = await tools.rebuild("history", (p) => progress.push(p));

    const total = conversations.length * perConversation;
    expect(result).toMatchObject({ topic, applied: total, read: total, undecodable: 0 });
    expect(progress.at(-1)).toEqual({ read: total, total, applied: total });
    const messages = await history();
    for (const id of conversations) expect(messages[id]?.map((m) => m.seq)).toEqual(Array.from({ length: perConversation }, (_, i) => i + 1));
    expect(messages.c2?.[0]).toMatchObject({ id: "c2-m1", content: "c2 says 1", sentAt: 1_700_000_000_001 });

    const [membership, ofHistory] = await tools.status();
    expect(membership?.projection).toBe("membership");
    expect(ofHistory?.projection).toBe("history");
    expect(ofHistory?.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(ofHistory?.partitions.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(total);
    expect(ofHistory?.partitions.every((p) => p.lag === 0)).toBe(true);
  });

  it("gives the same history when run again: nothing is applied twice", async () => {
    const before = await history();
    const result = await tools.rebuild("history");
    expect(result.applied).toBe(conversations.length * perConversation);
    expect(await history()).toEqual(before);
    expect(await store.lastSeq("c1")).toBe(perConversation);
  });

  it("rebuilds the read positions from the same messages, twice to the same positions", async () => {
    const positions = readPositionsStore(pool, config.kafka.topicPrefix);
    for (let run = 0; run < 2; run++) {
      expect(await tools.rebuild("read-positions")).toMatchObject({ topic, applied: conversations.length * perConversation });
      // A sender has read what they sent; the others have read nothing.
      expect(await positions.position("c1", "alice")).toEqual({ lastSeq: perConversation, readSeq: perConversation, lastMessageAt: 1_700_000_000_000 + perConversation });
      expect(await positions.position("c1", "bob")).toEqual({ lastSeq: perConversation, readSeq: 0, lastMessageAt: 1_700_000_000_000 + perConversation });
    }
    expect(await positions.position("nowhere", "alice")).toEqual({ lastSeq: 0, readSeq: 0, lastMessageAt: null });
  });

  it("rebuilds an empty projection (membership) to an empty read model", async () => {
    const result = await tools.rebuild("membership");
    expect(result).toMatchObject({ applied: 0, read: 0 });
    const [membership] = await tools.status();
    expect(membership?.partitions.every((p) => p.checkpoint === undefined && p.lag === 0)).toBe(true);
  });

  it("resets the read positions from the command line: read model and checkpoints cleared, nothing replayed until a projector starts", async () => {
    const positions = readPositionsStore(pool, config.kafka.topicPrefix);
    expect((await positions.position("c1", "alice")).lastSeq).toBe(perConversation);
    const run = runCli(["projections", "reset", "read-positions"], { KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "3", HISTORY_STORE: "mysql", LOG_LEVEL: "warn" });
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output().trim()).toBe(`read-positions: read model and checkpoints cleared; the projector replays ${topic} from the beginning when it starts`);
    expect(await positions.position("c1", "alice")).toEqual({ lastSeq: 0, readSeq: 0, lastMessageAt: null });
    const status = (await tools.status()).find((entry) => entry.projection === "read-positions");
    expect(status?.partitions.every((p) => p.checkpoint === undefined && p.lag === p.highWatermark)).toBe(true);
    expect(status?.partitions.reduce((sum, p) => sum + p.lag, 0)).toBe(conversations.length * perConversation);
  });

  it("publishes no delta while rebuilding", async () => {
    // Pub/sub is delivered within milliseconds: a delta published during the rebuilds would be here.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(published).toEqual([]);
  });

  it("rebuilds presence into the same Redis keys the live projection wrote, without a delta, and lists its partitions", async () => {
    const presenceTopic = prefix + TOPICS.presence.events;
    const day = presenceDay();
    await producer.send(day.map(({ fullName, value }) => ({ topic: presenceTopic, key: value.userId, fullName, value })));
    const live = await startPresenceProjection({ config, codec, redis, pool, logger });
    try {
      await eventually(
        async () => {
          const presence = (await tools.status()).find((status) => status.projection === "presence");
          return presence?.partitions.every((p) => p.lag === 0) ? true : undefined;
        },
        30_000,
        "the live presence projection to apply the day",
      );
    } finally {
      await live.close();
    }
    const before = await contents(`${prefix}presence:*`);
    expect(before[`${prefix}presence:online:w1`]).toEqual(["u0", "1700000000100", "u1", "1700000000101", "u3", "1700000000103", "u4", "1700000000104", "u5", "1700000000105"]);
    expect(before[`${prefix}presence:user:u1`]).toMatchObject({ status: "away", status_text: "lunch", device_count: "2" });
    const heard = published.length;

    const result = await tools.rebuild("presence");

    expect(result).toMatchObject({ topic: presenceTopic, applied: day.length, read: day.length, undecodable: 0 });
    expect(await contents(`${prefix}presence:*`)).toEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(published.slice(heard)).toEqual([]);
    const presence = (await tools.status()).find((status) => status.projection === "presence");
    expect(presence?.partitions.map((p) => [p.topic, p.partition, p.lag])).toEqual([0, 1, 2].map((partition) => [presenceTopic, partition, 0]));
    expect(presence?.partitions.reduce((sum, p) => sum + (p.checkpoint ?? 0), 0)).toBe(day.length);
  });

  it("rebuilds typing (an empty topic) and lists its partitions", async () => {
    expect(await tools.rebuild("typing")).toMatchObject({ topic: prefix + TOPICS.typing.events, applied: 0, read: 0 });
    const typing = (await tools.status()).find((status) => status.projection === "typing");
    expect(typing?.partitions.map((p) => [p.partition, p.checkpoint, p.lag])).toEqual([0, 1, 2].map((partition) => [partition, undefined, 0]));
  });

  it("refuses to rebuild while the projection runs, which resumes from the rebuilt checkpoints", async () => {
    const registry = new Registry();
    const projection = await startHistoryProjection({ config, codec, store, redis, logger, metrics: projectionMetrics(registry) });
    try {
      // At the end of each assigned partition the lag gauge reads 0: the projection is in its group.
      await eventually(
        async () => ((await registry.getSingleMetric("quikchat_projection_lag")?.get())?.values.length === 3 ? true : undefined),
        30_000,
        "the projection to reach the end of its partitions",
      );
      await expect(tools.rebuild("history")).rejects.toThrow(ProjectionToolError);
      await expect(tools.reset("history")).rejects.toThrow(ProjectionToolError);

      await send([sent("c1", perConversation + 1)]);
      await eventually(async () => ((await store.lastSeq("c1")) === perConversation + 1 ? true : undefined), 30_000, "the new message in history");
      const c1 = await store.messages("c1", { limit: 1000 });
      expect(c1.map((m) => m.seq)).toEqual(Array.from({ length: perConversation + 1 }, (_, i) => i + 1));

      // Live again: its deltas reach the subscriber that heard nothing during the rebuilds.
      await eventually(async () => (published.includes(conversationDeltaChannel(prefix, "c1")) ? true : undefined), 15_000, "a live delta");

      const events = await registry.getSingleMetric("quikchat_projection_events_total")?.get();
      expect(events?.values).toEqual([expect.objectContaining({ labels: { projection: "history" }, value: 1 })]);
      const lag = await registry.getSingleMetric("quikchat_projection_lag")?.get();
      expect(lag?.values.length).toBeGreaterThan(0);
      expect(lag?.values.every((value) => value.labels.projection === "history" && value.labels.topic === topic && value.value === 0)).toBe(true);
    } finally {
      await projection.close();
    }
  });
});
