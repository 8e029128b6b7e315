import type { Redis } from "ioredis";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type {
  ConnectionClosed,
  ConnectionOpened,
  EventMeta,
  MemberAdded,
  PresenceStatus,
  StatusChanged,
  TopicJoined,
  TopicLeft,
  UserOffline,
  UserOnline,
} from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { createKafkajs } from "../../../../src/infra/kafka/kafkajs-client.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createMysqlPool } from "../../../../src/infra/mysql/mysql-pool.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import { conversationDeltaChannel, type ConversationDelta } from "../../../../src/contexts/conversations/projections/history/history-port.js";
import { membershipReadModel } from "../../../../src/contexts/conversations/projections/membership/membership-projection.js";
import {
  presenceDiffChannel,
  presenceKeys,
  userPresenceChannel,
  viewerDiffChannel,
  type PresenceDiffDelta,
  type UserPresence,
  type ViewerDiffDelta,
} from "../../../../src/contexts/presence/projections/presence/presence-model.js";
import { startPresenceProjection } from "../../../../src/contexts/presence/projections/presence/presence-projection.js";
import { PresenceReadModel } from "../../../../src/contexts/presence/projections/presence/presence-read-model.js";
import { RedisPresenceStore } from "../../../../src/contexts/presence/projections/presence/redis-presence-store.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { rebuildProjection } from "../../../../src/platform/projection/rebuild.js";
import { applyUnderCheckpoint, ReadModelLostError } from "../../../../src/platform/projection/redis-checkpointed-store.js";
import { eventually, testConfig, testLogger, uniquePrefix, untilProjectionLive } from "../../../support/test-config.js";

const logger = testLogger();
const prefix = uniquePrefix("presence");
// One partition: the warm-up user's update then proves the partition the test writes to is live.
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "1" });
const topic = prefix + TOPICS.presence.events;
const keys = presenceKeys(prefix);
const T0 = 1_700_000_000_000;

const meta = (at: number, workspaceId = "w1"): EventMeta => ({
  eventId: `e-${at}-${Math.random()}`,
  occurredAt: at,
  correlationId: `c-${at}`,
  causationId: null,
  actorId: "gateway",
  workspaceId,
});
const opened = (userId: string, connectionId: string, at: number, workspaceId = "w1"): ConnectionOpened => ({
  meta: meta(at, workspaceId),
  userId,
  connectionId,
  deviceId: `device-${connectionId}`,
  gatewayId: "g1",
  platform: "web",
  expiresAt: at + 60_000,
});
const online = (userId: string, at: number, workspaceId = "w1"): UserOnline => ({ meta: meta(at, workspaceId), userId, status: "online", statusText: null });
const statusChanged = (userId: string, at: number, status: PresenceStatus, previousStatus: PresenceStatus, workspaceId = "w1"): StatusChanged => ({
  meta: meta(at, workspaceId),
  userId,
  status,
  previousStatus,
  statusText: null,
});
const closed = (userId: string, connectionId: string, at: number, workspaceId = "w1"): ConnectionClosed => ({
  meta: meta(at, workspaceId),
  userId,
  connectionId,
  gatewayId: "g1",
  reason: "disconnected",
});
const offline = (userId: string, at: number, workspaceId = "w1"): UserOffline => ({ meta: meta(at, workspaceId), userId, lastSeenAt: at });
const topicJoined = (userId: string, connectionId: string, topic: string, at: number, workspaceId = "w1"): TopicJoined => ({ meta: meta(at, workspaceId), userId, connectionId, topic });
const topicLeft = (userId: string, connectionId: string, topic: string, at: number, workspaceId = "w1"): TopicLeft => ({
  meta: meta(at, workspaceId),
  userId,
  connectionId,
  topic,
  reason: "connection_closed",
});

/** Every key of this test's presence read model with its content. */
async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}presence:*`, "COUNT", 500);
    cursor = next;
    found.push(...batch);
  } while (cursor !== "0");
  const result: Record<string, unknown> = {};
  for (const key of found.sort()) {
    const type = await redis.type(key);
    result[key] = type === "hash" ? await redis.hgetall(key) : await redis.zrange(key, 0, -1, "WITHSCORES");
  }
  return result;
}

describe("the presence projection", () => {
  const pool = createMysqlPool(config.mysql.url, 2);
  const redis = createRedis(config.redis.url, logger, { name: "presence-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "presence-test-sub" });
  const readModel = new PresenceReadModel(redis, prefix);
  const { store: membership } = membershipReadModel(pool, redis, config.kafka.topicPrefix);
  const registry = new Registry();
  const diffs: PresenceDiffDelta[] = [];
  const updates: UserPresence[] = [];
  const conversationDeltas: ConversationDelta[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let projection: ProjectionRuntime | undefined;

  const send = (records: { fullName: string; value: { userId: string } }[]) =>
    producer.send(records.map(({ fullName, value }) => ({ topic, key: value.userId, fullName: `quikchat.presence.${fullName}`, value })));

  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    // Alice is a member of c1; bob of nothing.
    await membership.ensureSchema();
    const memberAdded: MemberAdded = { meta: meta(T0), conversationId: "c1", userId: "alice", role: "member" };
    await membership.apply(prefix + TOPICS.conversations.events, 0, [
      { topic: prefix + TOPICS.conversations.events, partition: 0, offset: 0, key: "c1", timestamp: 0, headers: {}, fullName: "quikchat.conversations.MemberAdded", value: memberAdded },
    ]);

    subscriber.on("message", (channel: string, message: string) => {
      if (channel === conversationDeltaChannel(prefix, "c1")) conversationDeltas.push(JSON.parse(message) as ConversationDelta);
      else if (channel === presenceDiffChannel(prefix, "w1")) diffs.push(JSON.parse(message) as PresenceDiffDelta);
      else updates.push(JSON.parse(message) as UserPresence);
    });
    await subscriber.subscribe(
      presenceDiffChannel(prefix, "w1"),
      conversationDeltaChannel(prefix, "c1"),
      userPresenceChannel(prefix, "alice"),
      userPresenceChannel(prefix, "warmup"),
    );
    projection = await startPresenceProjection({ config, codec, redis, pool, logger, registry });
    await untilProjectionLive(
      (n) => {
        const warmup: ConnectionOpened = { ...opened("warmup", `warm-${n}`, T0 + n, "w-warmup"), gatewayId: "g-warmup" };
        return send([{ fullName: "ConnectionOpened", value: warmup }]);
      },
      () => updates.some((update) => update.user_id === "warmup"),
    );
  });

  afterAll(async () => {
    await projection?.close();
    await producer.close();
    const all = await redis.keys(`${prefix}*`);
    if (all.length > 0) await redis.del(...all);
    const tables = prefix.replace(/[^A-Za-z0-9_]/g, "_");
    for (const table of ["conversation_members", "conversations", "projection_checkpoints"]) await pool.query(`DROP TABLE IF EXISTS \`${tables}${table}\``);
    await Promise.all([pool.end(), redis.quit(), subscriber.quit()]);
  });

  it("keeps connections, visible users and their metas in Redis as presence-model.ts documents", async () => {
    await send([
      { fullName: "ConnectionOpened", value: opened("alice", "a1", T0 + 100) },
      { fullName: "UserOnline", value: online("alice", T0 + 100) },
      { fullName: "ConnectionOpened", value: opened("alice", "a2", T0 + 110) },
      { fullName: "ConnectionOpened", value: opened("bob", "b1", T0 + 120) },
      { fullName: "UserOnline", value: online("bob", T0 + 120) },
    ]);
    await eventually(async () => ((await redis.zcard(keys.online("w1"))) === 2 ? true : undefined), 30_000, "alice and bob online");

    expect(await redis.zrange(keys.online("w1"), 0, -1, "WITHSCORES")).toEqual(["alice", String(T0 + 100), "bob", String(T0 + 120)]);
    expect(await redis.hgetall(keys.user("alice"))).toEqual({
      status: "online",
      device_count: "2",
      last_seen: String(T0 + 110),
      online_at: String(T0 + 100),
      workspace_id: "w1",
    });
    expect(Object.keys(await redis.hgetall(keys.connections("alice"))).sort()).toEqual(["a1", "a2"]);
    expect(JSON.parse((await redis.hget(keys.connections("alice"), "a1"))!)).toMatchObject({
      connectionId: "a1",
      gatewayId: "g1",
      deviceId: "device-a1",
      platform: "web",
      onlineAt: T0 + 100,
      expiresAt: T0 + 60_100,
    });
    expect(Object.keys(await redis.hgetall(keys.metas("w1"))).sort()).toEqual(["a1", "a2", "b1"]);
    expect(JSON.parse((await redis.hget(keys.gateway("g1"), "b1"))!)).toEqual({ userId: "bob", workspaceId: "w1" });

    const state = await readModel.workspaceState("w1");
    expect(Object.keys(state)).toEqual(["alice", "bob"]);
    expect(state.alice?.metas.map((m) => [m.connection_id, m.status, m.online_at])).toEqual([
      ["a1", "online", T0 + 100],
      ["a2", "online", T0 + 110],
    ]);
    expect(await readModel.onlineUsers("w1")).toEqual([
      { user_id: "alice", status: "online", online_at: T0 + 100 },
      { user_id: "bob", status: "online", online_at: T0 + 120 },
    ]);
    expect(await readModel.userPresence("alice")).toEqual({
      user_id: "alice",
      workspace_id: "w1",
      status: "online",
      chosen_status: "online",
      status_text: null,
      device_count: 2,
      last_seen: T0 + 110,
      online_at: T0 + 100,
      devices: [
        { connection_id: "a1", device: "device-a1", platform: "web", online_at: T0 + 100 },
        { connection_id: "a2", device: "device-a2", platform: "web", online_at: T0 + 110 },
      ],
    });
    expect([...(await readModel.gatewayConnections("g1")).keys()].sort()).toEqual(["a1", "a2", "b1"]);
    expect(await readModel.userPresence("nobody")).toEqual({
      user_id: "nobody",
      workspace_id: null,
      status: "offline",
      chosen_status: "online",
      status_text: null,
      device_count: 0,
      last_seen: null,
      online_at: null,
      devices: [],
    });
    expect(await registry.getSingleMetric("presence_online_users")?.get()).toMatchObject({
      values: expect.arrayContaining([expect.objectContaining({ labels: { workspace_id: "w1" }, value: 2 })]),
    });
  });

  it("publishes the workspace's joins, the user's presence and user_online to the user's conversations", async () => {
    const joined = await eventually(async () => {
      const users = new Set(diffs.flatMap((diff) => Object.keys(diff.joins)));
      return users.has("alice") && users.has("bob") ? diffs : undefined;
    }, 15_000, "joins of alice and bob");
    const aliceMetas = joined.flatMap((diff) => diff.joins.alice?.metas ?? []);
    expect(aliceMetas.map((m) => m.connection_id).sort()).toEqual(["a1", "a2"]);
    expect(joined.every((diff) => diff.workspaceId === "w1" && diff.partition === 0 && Object.keys(diff.leaves).length === 0)).toBe(true);

    const alice = await eventually(async () => updates.findLast((u) => u.user_id === "alice" && u.device_count === 2), 15_000, "alice's update");
    expect(alice).toMatchObject({ status: "online", online_at: T0 + 100 });

    await eventually(async () => (conversationDeltas.length > 0 ? true : undefined), 15_000, "user_online on c1");
    expect(conversationDeltas).toEqual([{ kind: "user_online", conversationId: "c1", userId: "alice", at: T0 + 100 }]);
  });

  it("replaces metas on a status change, and removes a user who goes offline", async () => {
    diffs.length = 0;
    await send([{ fullName: "StatusChanged", value: statusChanged("alice", T0 + 200, "dnd", "online") }]);
    const change = await eventually(async () => diffs.find((diff) => diff.leaves.alice !== undefined), 15_000, "alice's status diff");
    const left = change.leaves.alice!.metas;
    const joinedAgain = change.joins.alice!.metas;
    expect(joinedAgain.map((m) => m.status)).toEqual(["dnd", "dnd"]);
    expect(joinedAgain.map((m) => m.phx_ref_prev).sort()).toEqual(left.map((m) => m.phx_ref).sort());
    expect((await readModel.userPresence("alice")).status).toBe("dnd");

    await send([
      { fullName: "ConnectionClosed", value: closed("alice", "a1", T0 + 300) },
      { fullName: "ConnectionClosed", value: closed("alice", "a2", T0 + 301) },
      { fullName: "UserOffline", value: offline("alice", T0 + 301) },
    ]);
    await eventually(async () => (conversationDeltas.some((d) => d.kind === "user_offline") ? true : undefined), 15_000, "user_offline on c1");
    expect(conversationDeltas.at(-1)).toEqual({ kind: "user_offline", conversationId: "c1", userId: "alice", at: T0 + 301 });
    expect(await readModel.onlineUsers("w1")).toEqual([{ user_id: "bob", status: "online", online_at: T0 + 120 }]);
    expect(Object.keys(await readModel.workspaceState("w1"))).toEqual(["bob"]);
    expect([...(await readModel.gatewayConnections("g1")).keys()]).toEqual(["b1"]);
    expect(await readModel.userPresence("alice")).toMatchObject({ status: "offline", chosen_status: "dnd", device_count: 0, last_seen: T0 + 301, online_at: null });
    const leaves = diffs.flatMap((diff) => diff.leaves.alice?.metas ?? []).filter((m) => m.status === "dnd");
    expect(leaves.map((m) => m.connection_id).sort()).toEqual(["a1", "a2"]);
  });

  it("keeps each topic's viewers and publishes their diffs to that topic only; a user appearing offline or closing leaves once", async () => {
    const [video, other] = ["comments:video-1", "comments:video-2"];
    const watcher = createRedis(config.redis.url, logger, { name: "presence-test-viewers" });
    const viewerDiffs: ViewerDiffDelta[] = [];
    watcher.on("message", (_channel: string, message: string) => void viewerDiffs.push(JSON.parse(message) as ViewerDiffDelta));
    await watcher.subscribe(viewerDiffChannel(prefix, "w-view", video), viewerDiffChannel(prefix, "w-view", other), viewerDiffChannel(prefix, "w-elsewhere", video));
    try {
      await send([
        { fullName: "ConnectionOpened", value: opened("vera", "v1", T0 + 400, "w-view") },
        { fullName: "UserOnline", value: online("vera", T0 + 400, "w-view") },
        { fullName: "ConnectionOpened", value: opened("vic", "v2", T0 + 401, "w-view") },
        { fullName: "UserOnline", value: online("vic", T0 + 401, "w-view") },
        { fullName: "TopicJoined", value: topicJoined("vera", "v1", video, T0 + 402, "w-view") },
        { fullName: "TopicJoined", value: topicJoined("vic", "v2", video, T0 + 403, "w-view") },
      ]);
      const viewers = await eventually(async () => {
        const state = await readModel.topicViewers("w-view", video);
        return Object.keys(state).length === 2 ? state : undefined;
      }, 30_000, "vera and vic viewing");
      const workspace = await readModel.workspaceState("w-view");
      // A viewer's meta is the connection's workspace meta under a ref of its own: <workspace meta ref>/<TopicJoined ref>.
      expect(viewers.vera?.metas).toEqual([{ ...workspace.vera!.metas[0]!, phx_ref: expect.stringMatching(new RegExp(`^${workspace.vera!.metas[0]!.phx_ref}/`)) }]);
      expect(viewers.vic?.metas.map((m) => m.connection_id)).toEqual(["v2"]);
      expect(await readModel.topicViewers("w-view", other)).toEqual({});
      expect(await readModel.topicViewers("w-elsewhere", video)).toEqual({});
      await eventually(async () => (viewerDiffs.flatMap((diff) => Object.keys(diff.joins)).sort().join() === "vera,vic" ? true : undefined), 15_000, "the viewers' joins");
      expect(viewerDiffs.every((diff) => diff.workspaceId === "w-view" && diff.topic === video && Object.keys(diff.leaves).length === 0)).toBe(true);

      viewerDiffs.length = 0;
      await send([{ fullName: "StatusChanged", value: statusChanged("vic", T0 + 404, "offline", "online", "w-view") }]);
      const hidden = await eventually(async () => viewerDiffs.find((diff) => diff.leaves.vic !== undefined), 15_000, "vic hidden");
      expect(hidden).toMatchObject({ topic: video, joins: {}, leaves: { vic: { metas: [viewers.vic!.metas[0]] } } });
      expect(Object.keys(await readModel.topicViewers("w-view", video))).toEqual(["vera"]);

      viewerDiffs.length = 0;
      await send([
        { fullName: "TopicLeft", value: topicLeft("vera", "v1", video, T0 + 405, "w-view") },
        { fullName: "ConnectionClosed", value: closed("vera", "v1", T0 + 405, "w-view") },
        { fullName: "UserOffline", value: offline("vera", T0 + 405, "w-view") },
      ]);
      await eventually(async () => (viewerDiffs.some((diff) => diff.leaves.vera !== undefined) ? true : undefined), 15_000, "vera's leave");
      expect(viewerDiffs).toEqual([expect.objectContaining({ topic: video, joins: {}, leaves: { vera: { metas: viewers.vera!.metas } } })]);
      expect(await readModel.topicViewers("w-view", video)).toEqual({});
      expect(await redis.exists(keys.viewers("w-view", video))).toBe(0);
    } finally {
      await watcher.quit();
    }
  });

  it("changes nothing when records below the checkpoint come again, and a rebuild from the log yields the same keys", async () => {
    const store = new RedisPresenceStore(createRedis(config.redis.url, logger, { name: "presence-test-store" }), prefix);
    try {
      const next = (await store.checkpoints(topic)).get(0)!;
      expect(next).toBeGreaterThan(0);
      const before = await snapshot(redis);
      const replay = Array.from({ length: next }, (_, offset) => ({
        topic,
        partition: 0,
        offset,
        key: "alice",
        timestamp: 0,
        headers: {},
        fullName: "quikchat.presence.ConnectionOpened",
        value: opened("alice", `replayed-${offset}`, T0 + 1_000),
      }));
      expect(await store.apply(topic, 0, replay)).toEqual([]);
      expect(await snapshot(redis)).toEqual(before);

      await projection?.close();
      projection = undefined;
      const admin = createKafkajs(config.kafka, logger).admin();
      await admin.connect();
      const offsets = (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));
      await admin.disconnect();
      const result = await rebuildProjection(store, codec, logger, {
        brokers: config.kafka.brokers,
        clientId: "presence-test-rebuild",
        groupId: `${prefix}presence-test-rebuild`,
        topic,
        offsets,
      });
      expect(result.applied).toBeGreaterThan(0);
      expect(await snapshot(redis)).toEqual(before);
    } finally {
      await store.close();
    }
  });

  it("applies a batch once when two writers race for the same partition", async () => {
    const stores = [0, 1].map((n) => new RedisPresenceStore(createRedis(config.redis.url, logger, { name: `presence-test-race-${n}` }), prefix));
    try {
      const raceTopic = `${prefix}race`;
      const records = [opened("zed", "z1", T0 + 500, "w-race"), online("zed", T0 + 500, "w-race")].map((value, offset) => ({
        topic: raceTopic,
        partition: 0,
        offset,
        key: "zed",
        timestamp: 0,
        headers: {},
        fullName: `quikchat.presence.${offset === 0 ? "ConnectionOpened" : "UserOnline"}`,
        value,
      }));
      const applied = await Promise.all(stores.map((store) => store.apply(raceTopic, 0, records)));
      expect(applied.map((batch) => batch.length).sort()).toEqual([0, 2]);
      expect(await redis.hget(keys.user("zed"), "device_count")).toBe("1");
      expect(await redis.hlen(keys.metas("w-race"))).toBe(1);
      expect((await stores[0]!.checkpoints(raceTopic)).get(0)).toBe(2);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("plans a batch again from the new checkpoint when another writer moved it before EXEC", async () => {
    const own = createRedis(config.redis.url, logger, { name: "presence-test-watch" });
    try {
      const field = `${prefix}watched:0`;
      const records = [0, 1, 2].map((offset) => ({ topic: `${prefix}watched`, partition: 0, offset, key: "k", timestamp: 0, headers: {}, fullName: "x", value: {} }));
      const planned: number[][] = [];
      const result = await applyUnderCheckpoint(own, keys.checkpoint, `${prefix}watched`, 0, records, async (fresh) => {
        planned.push(fresh.map((record) => record.offset));
        // Another writer applies offsets 0 and 1 between our read and our EXEC, once.
        if (planned.length === 1) await redis.hset(keys.checkpoint, field, "2");
        return { outcome: fresh.length, write: (transaction) => transaction.set(`${prefix}watched-marker`, String(fresh.length)) };
      });
      expect(planned).toEqual([[0, 1, 2], [2]]);
      expect(result?.fresh.map((record) => record.offset)).toEqual([2]);
      expect(await redis.hget(keys.checkpoint, field)).toBe("3");
      expect(await redis.get(`${prefix}watched-marker`)).toBe("1");
    } finally {
      await own.quit();
    }
  });

  it("does not write a batch planned before the connection dropped: its WATCH went with the connection", async () => {
    const own = createRedis(config.redis.url, logger, { name: "presence-test-reconnect" });
    const checkpointKey = `${prefix}reconnect-checkpoint`;
    const topic = `${prefix}reconnect`;
    try {
      await redis.hset(checkpointKey, `${topic}:0`, "5");
      const records = [5, 6].map((offset) => ({ topic, partition: 0, offset, key: "k", timestamp: 0, headers: {}, fullName: "x", value: {} }));
      const applying = applyUnderCheckpoint(
        own,
        checkpointKey,
        topic,
        0,
        records,
        async (fresh) => {
          if (fresh.length === 2) {
            // Redis restarts without its data between the read of the checkpoint and EXEC.
            await redis.del(checkpointKey);
            own.disconnect(true);
            await own.ping();
          }
          return { outcome: fresh.length, write: (transaction) => transaction.set(`${prefix}reconnect-marker`, "written") };
        },
        { expectCheckpoint: true },
      );
      // Unwatched, EXEC would have written offset 7 as the checkpoint of an empty read model.
      await expect(applying).rejects.toThrow(ReadModelLostError);
      expect(await redis.hgetall(checkpointKey)).toEqual({});
      expect(await redis.get(`${prefix}reconnect-marker`)).toBeNull();
    } finally {
      await own.quit();
    }
  });

  it("rebuilds from the log when Redis loses the read model under a running projection", async () => {
    projection ??= await startPresenceProjection({ config, codec, redis, pool, logger, registry });
    const watcher = createRedis(config.redis.url, logger, { name: "presence-test-lost" });
    const resyncs: PresenceDiffDelta[] = [];
    watcher.on("message", (_channel: string, message: string) => void resyncs.push(JSON.parse(message) as PresenceDiffDelta));
    await watcher.subscribe(presenceDiffChannel(prefix, "w-lost"));
    await watcher.subscribe(viewerDiffChannel(prefix, "w-lost", "comments:lost"));
    await send([
      { fullName: "ConnectionOpened", value: opened("lost-1", "l1", T0 + 9_000, "w-lost") },
      { fullName: "UserOnline", value: online("lost-1", T0 + 9_000, "w-lost") },
      { fullName: "TopicJoined", value: topicJoined("lost-1", "l1", "comments:lost", T0 + 9_000, "w-lost") },
    ]);
    await eventually(async () => ((await redis.hget(keys.user("lost-1"), "device_count")) === "1" ? true : undefined), 30_000, "lost-1 projected");
    const viewing = await readModel.topicViewers("w-lost", "comments:lost");
    expect(Object.keys(viewing)).toEqual(["lost-1"]);

    // What a Redis restart without persistence does to this projection's keys.
    const beforeLoss = resyncs.length;
    const doomed = await redis.keys(`${prefix}presence:*`);
    await redis.del(...doomed);
    await send([{ fullName: "ConnectionOpened", value: opened("lost-2", "l2", T0 + 9_001, "w-lost") }]);

    // Continuing from the middle would know lost-2 only; the replay from the beginning knows both.
    await eventually(async () => ((await redis.hget(keys.user("lost-2"), "device_count")) === "1" ? true : undefined), 30_000, "lost-2 projected");
    expect(await redis.hget(keys.user("lost-1"), "device_count")).toBe("1");
    expect((await readModel.onlineUsers("w-lost")).map((user) => user.user_id).sort()).toEqual(["lost-1", "lost-2"]);
    // Watchers learn the rebuilt state: a resync for what was replayed while catching up, a diff for the rest.
    expect(await readModel.topicViewers("w-lost", "comments:lost")).toEqual(viewing);
    const told = (delta: PresenceDiffDelta) => delta.resync === true || "lost-1" in delta.joins;
    const resyncedViewers = (delta: PresenceDiffDelta) => (delta as ViewerDiffDelta).topic === "comments:lost" && told(delta);
    await eventually(async () => (resyncs.slice(beforeLoss).some(told) ? true : undefined), 10_000, "w-lost watchers told");
    await eventually(async () => (resyncs.slice(beforeLoss).some(resyncedViewers) ? true : undefined), 10_000, "the viewers of comments:lost told");
    await watcher.quit();
  });
});
