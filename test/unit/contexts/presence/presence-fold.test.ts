import { describe, expect, it } from "vitest";
import type { EventMeta, PresenceStatus } from "../../../../src/platform/contract/generated/avro-types.js";
import { foldPresence, type PresenceOutcome } from "../../../../src/contexts/presence/projections/presence/presence-fold.js";
import { userStateFromRedis, type RedisWrite } from "../../../../src/contexts/presence/projections/presence/presence-redis-plan.js";
import { type PresenceRecord, type UserPresenceState } from "../../../../src/contexts/presence/projections/presence/presence-evolve.js";
import { presenceKeys, type PresenceMeta } from "../../../../src/contexts/presence/projections/presence/presence-model.js";

const PREFIX = "t.";
const keys = presenceKeys(PREFIX);
const T0 = 1_700_000_000_000;

/** Redis as the writes leave it: hashes and sorted sets. */
class FakeRedis {
  readonly hashes = new Map<string, Map<string, string>>();
  readonly zsets = new Map<string, Map<string, number>>();

  apply(writes: readonly RedisWrite[]): void {
    for (const write of writes) {
      switch (write.op) {
        case "del":
          this.hashes.delete(write.key);
          this.zsets.delete(write.key);
          break;
        case "hset": {
          const hash = this.hashes.get(write.key) ?? new Map<string, string>();
          for (const [field, value] of Object.entries(write.fields)) hash.set(field, value);
          this.hashes.set(write.key, hash);
          break;
        }
        case "hdel":
          for (const field of write.fields) this.hashes.get(write.key)?.delete(field);
          break;
        case "zadd":
          this.zsets.set(write.key, (this.zsets.get(write.key) ?? new Map<string, number>()).set(write.member, write.score));
          break;
        case "zrem":
          this.zsets.get(write.key)?.delete(write.member);
          break;
      }
    }
  }

  hash(key: string): Record<string, string> {
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }

  zset(key: string): Record<string, number> {
    return Object.fromEntries(this.zsets.get(key) ?? []);
  }

  /** A user's state as the store loads it. */
  load(userId: string): UserPresenceState {
    const user = this.hash(keys.user(userId));
    const connections = this.hash(keys.connections(userId));
    const metas = user.workspace_id === undefined ? {} : this.hash(keys.metas(user.workspace_id));
    return userStateFromRedis(userId, user, connections, Object.fromEntries(Object.keys(connections).map((id) => [id, metas[id] ?? null])));
  }
}

/** The projection over a fake Redis: each `batch` loads, folds and writes as the store does. */
function projection() {
  const redis = new FakeRedis();
  let offset = 0;
  const at = (n: number): PresenceRecord["partition"] => n;
  return {
    redis,
    /** Records at the next offsets of partition 0. */
    records(...events: { fullName: string; value: unknown }[]): PresenceRecord[] {
      return events.map((event) => ({ partition: at(0), offset: offset++, ...event }));
    },
    batch(records: readonly PresenceRecord[]): PresenceOutcome {
      const userIds = new Set(records.map((record) => (record.value as { userId: string }).userId));
      const users = new Map([...userIds].map((userId) => [userId, redis.load(userId)]));
      const outcome = foldPresence(PREFIX, users, records);
      redis.apply(outcome.writes);
      for (const [userId, state] of outcome.users) expect(redis.load(userId), "the writes store the folded state").toEqual(state);
      return outcome;
    },
  };
}

const meta = (at: number, workspaceId = "w1"): EventMeta => ({
  eventId: `e-${at}-${Math.random()}`,
  occurredAt: at,
  correlationId: "c",
  causationId: null,
  actorId: "gateway",
  workspaceId,
});
const opened = (userId: string, connectionId: string, at: number, platform: "web" | "ios" = "web") => ({
  fullName: "quikchat.presence.ConnectionOpened",
  value: { meta: meta(at), userId, connectionId, deviceId: `d-${connectionId}`, gatewayId: "g1", platform, expiresAt: at + 60_000 },
});
const refreshed = (userId: string, connectionId: string, at: number) => ({
  fullName: "quikchat.presence.ConnectionRefreshed",
  value: { meta: meta(at), userId, connectionId, expiresAt: at + 60_000 },
});
const closed = (userId: string, connectionId: string, at: number) => ({
  fullName: "quikchat.presence.ConnectionClosed",
  value: { meta: meta(at), userId, connectionId, gatewayId: "g1", reason: "disconnected" },
});
const online = (userId: string, at: number, status: PresenceStatus = "online", statusText: string | null = null) => ({
  fullName: "quikchat.presence.UserOnline",
  value: { meta: meta(at), userId, status, statusText },
});
const offline = (userId: string, at: number) => ({
  fullName: "quikchat.presence.UserOffline",
  value: { meta: meta(at), userId, lastSeenAt: at },
});
const statusChanged = (userId: string, at: number, status: PresenceStatus, previousStatus: PresenceStatus, statusText: string | null = null) => ({
  fullName: "quikchat.presence.StatusChanged",
  value: { meta: meta(at), userId, status, previousStatus, statusText },
});

const topicJoined = (userId: string, connectionId: string, topic: string, at: number) => ({
  fullName: "quikchat.presence.TopicJoined",
  value: { meta: meta(at), userId, connectionId, topic },
});
const topicLeft = (userId: string, connectionId: string, topic: string, at: number, reason: "left" | "connection_closed" = "left") => ({
  fullName: "quikchat.presence.TopicLeft",
  value: { meta: meta(at), userId, connectionId, topic, reason },
});

const metaOf = (connectionId: string, phxRef: string, onlineAt: number, extra: Partial<PresenceMeta> = {}): PresenceMeta => ({
  phx_ref: phxRef,
  connection_id: connectionId,
  device: `d-${connectionId}`,
  platform: "web",
  status: "online",
  status_text: null,
  online_at: onlineAt,
  ...extra,
});

describe("the presence fold", () => {
  describe("when a user opens a first connection", () => {
    it("shows the user online: one join, the online set, the metas, a user_online change", () => {
      const p = projection();
      const outcome = p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));

      expect(outcome.diffs.get("w1")).toEqual({ joins: { alice: { metas: [metaOf("c1", "0.0.0", T0)] } }, leaves: {} });
      expect(outcome.visibility).toEqual([{ userId: "alice", workspaceId: "w1", online: true, at: T0 }]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({ alice: T0 });
      expect(p.redis.hash(keys.user("alice"))).toEqual({
        status: "online",
        device_count: "1",
        last_seen: String(T0),
        online_at: String(T0),
        workspace_id: "w1",
      });
      expect(JSON.parse(p.redis.hash(keys.metas("w1")).c1!)).toEqual({ userId: "alice", meta: metaOf("c1", "0.0.0", T0) });
      expect(JSON.parse(p.redis.hash(keys.gateway("g1")).c1!)).toEqual({ userId: "alice", workspaceId: "w1" });
      // The store makes sure the sweeper knows g1 (Redis may have lost the gateways' liveness with the read model).
      expect(outcome.gateways).toEqual(["g1"]);
      expect(outcome.updates).toEqual([
        {
          user_id: "alice",
          workspace_id: "w1",
          status: "online",
          chosen_status: "online",
          status_text: null,
          device_count: 1,
          last_seen: T0,
          online_at: T0,
          devices: [{ connection_id: "c1", device: "d-c1", platform: "web", online_at: T0 }],
        },
      ]);
    });

    it("joins a second device alone, without a visibility change", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));
      const outcome = p.batch(p.records(opened("alice", "c2", T0 + 5, "ios")));

      expect(outcome.diffs.get("w1")).toEqual({ joins: { alice: { metas: [metaOf("c2", "0.2.0", T0 + 5, { platform: "ios" })] } }, leaves: {} });
      expect(outcome.visibility).toEqual([]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({ alice: T0 });
      expect(p.redis.hash(keys.user("alice"))).toMatchObject({ device_count: "2", online_at: String(T0), last_seen: String(T0 + 5) });
      expect(Object.keys(p.redis.hash(keys.metas("w1"))).sort()).toEqual(["c1", "c2"]);
    });
  });

  describe("when a user with two connections closes one", () => {
    it("leaves that meta only and keeps the user online", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0), opened("alice", "c2", T0 + 5)));
      const outcome = p.batch(p.records(closed("alice", "c1", T0 + 10)));

      expect(outcome.diffs.get("w1")).toEqual({ joins: {}, leaves: { alice: { metas: [metaOf("c1", "0.0.0", T0)] } } });
      expect(outcome.visibility).toEqual([]);
      // online_at is the first of the connections still open.
      expect(p.redis.zset(keys.online("w1"))).toEqual({ alice: T0 + 5 });
      expect(Object.keys(p.redis.hash(keys.metas("w1")))).toEqual(["c2"]);
      expect(p.redis.hash(keys.gateway("g1")).c1).toBeUndefined();
      expect(outcome.gateways).toEqual([]);
      expect(outcome.updates[0]).toMatchObject({ status: "online", device_count: 1 });
    });
  });

  describe("when the last connection closes", () => {
    it("leaves, removes the user from the online set and records last_seen", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));
      const outcome = p.batch(p.records(closed("alice", "c1", T0 + 10), offline("alice", T0 + 10)));

      expect(outcome.diffs.get("w1")).toEqual({ joins: {}, leaves: { alice: { metas: [metaOf("c1", "0.0.0", T0)] } } });
      expect(outcome.visibility).toEqual([{ userId: "alice", workspaceId: "w1", online: false, at: T0 + 10 }]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({});
      expect(p.redis.hash(keys.metas("w1"))).toEqual({});
      expect(p.redis.hash(keys.connections("alice"))).toEqual({});
      expect(p.redis.hash(keys.user("alice"))).toEqual({ status: "online", device_count: "0", last_seen: String(T0 + 10), workspace_id: "w1" });
      expect(outcome.updates).toEqual([expect.objectContaining({ status: "offline", chosen_status: "online", device_count: 0, last_seen: T0 + 10, online_at: null, devices: [] })]);
    });
  });

  describe("when a socket closes for a token refresh and its device reconnects", () => {
    const closing = (userId: string, connectionId: string, at: number) => ({
      fullName: "quikchat.presence.ConnectionClosing",
      value: { meta: meta(at), userId, connectionId, closeCode: 4001, expiresAt: at + 10_000 },
    });

    it("keeps the closing connection's meta, then swaps it for the new one in one diff, the user online throughout", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));
      const lingering = p.batch(p.records(closing("alice", "c1", T0 + 10)));
      expect(lingering.diffs.size).toBe(0);
      expect(lingering.visibility).toEqual([]);
      expect(JSON.parse(p.redis.hash(keys.connections("alice")).c1!)).toMatchObject({ expiresAt: T0 + 10 + 10_000 });

      const handedOver = p.batch(p.records(opened("alice", "c2", T0 + 60), closed("alice", "c1", T0 + 60)));
      expect(handedOver.diffs.get("w1")).toEqual({
        joins: { alice: { metas: [metaOf("c2", "0.3.0", T0 + 60)] } },
        leaves: { alice: { metas: [metaOf("c1", "0.0.0", T0)] } },
      });
      expect(handedOver.visibility).toEqual([]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({ alice: T0 + 60 });
    });
  });

  describe("when the user service changes a visible user's profile", () => {
    const profileChanged = (userId: string, at: number, displayName: string | null, avatarUrl: string | null) => ({
      fullName: "quikchat.presence.ProfileChanged",
      value: { meta: meta(at), userId, displayName, avatarUrl },
    });

    it("replaces its meta with one showing the display name and avatar, and keeps them for later connections", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));
      const outcome = p.batch(p.records(profileChanged("alice", T0 + 10, "Alice B.", "https://img/a.png")));
      const profile = { display_name: "Alice B.", avatar_url: "https://img/a.png" };
      expect(outcome.diffs.get("w1")).toEqual({
        joins: { alice: { metas: [metaOf("c1", "0.2.0", T0, { ...profile, phx_ref_prev: "0.0.0" })] } },
        leaves: { alice: { metas: [metaOf("c1", "0.0.0", T0)] } },
      });
      const second = p.batch(p.records(opened("alice", "c2", T0 + 20)));
      expect(second.diffs.get("w1")).toEqual({ joins: { alice: { metas: [metaOf("c2", "0.3.0", T0 + 20, profile)] } }, leaves: {} });
      expect(p.batch(p.records(profileChanged("alice", T0 + 30, "Alice B.", "https://img/a.png"))).diffs.size).toBe(0);
    });
  });

  describe("when a visible user changes status", () => {
    it("replaces each meta: a leave of the old one and a join of the new one naming it in phx_ref_prev", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0), opened("alice", "c2", T0 + 5)));
      const outcome = p.batch(p.records(statusChanged("alice", T0 + 20, "dnd", "online", "focus")));

      const look = { status: "dnd", status_text: "focus" };
      expect(outcome.diffs.get("w1")).toEqual({
        joins: {
          alice: {
            metas: [
              metaOf("c1", "0.3.0", T0, { ...look, phx_ref_prev: "0.0.0" }),
              metaOf("c2", "0.3.1", T0 + 5, { ...look, phx_ref_prev: "0.2.0" }),
            ],
          },
        },
        leaves: { alice: { metas: [metaOf("c1", "0.0.0", T0), metaOf("c2", "0.2.0", T0 + 5)] } },
      });
      expect(outcome.visibility).toEqual([]);
      expect(p.redis.hash(keys.user("alice"))).toMatchObject({ status: "dnd", status_text: "focus" });
      expect(JSON.parse(p.redis.hash(keys.connections("alice")).c2!)).toMatchObject({ phxRef: "0.3.1" });
      expect(outcome.updates[0]).toMatchObject({ status: "dnd", chosen_status: "dnd", status_text: "focus" });
    });

    it("appearing offline is a pure leave, and coming back a pure join", () => {
      const p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));

      const hidden = p.batch(p.records(statusChanged("alice", T0 + 20, "offline", "online")));
      expect(hidden.diffs.get("w1")).toEqual({ joins: {}, leaves: { alice: { metas: [metaOf("c1", "0.0.0", T0)] } } });
      expect(hidden.visibility).toEqual([{ userId: "alice", workspaceId: "w1", online: false, at: T0 + 20 }]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({});
      expect(p.redis.hash(keys.metas("w1"))).toEqual({});
      expect(hidden.updates[0]).toMatchObject({ status: "offline", chosen_status: "offline", device_count: 1 });

      // A device opened while hidden is not shown either.
      const another = p.batch(p.records(opened("alice", "c2", T0 + 25)));
      expect(another.diffs.size).toBe(0);
      expect(another.visibility).toEqual([]);

      const back = p.batch(p.records(statusChanged("alice", T0 + 30, "away", "offline")));
      expect(back.diffs.get("w1")).toEqual({
        joins: { alice: { metas: [metaOf("c1", "0.4.0", T0, { status: "away" }), metaOf("c2", "0.4.1", T0 + 25, { status: "away" })] } },
        leaves: {},
      });
      expect(back.visibility).toEqual([{ userId: "alice", workspaceId: "w1", online: true, at: T0 + 30 }]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({ alice: T0 });
    });
  });

  describe("when records repeat", () => {
    it("a record applied again changes nothing and announces nothing", () => {
      const events = [
        opened("alice", "c1", T0),
        online("alice", T0, "away"),
        opened("alice", "c2", T0 + 5),
        refreshed("alice", "c2", T0 + 6),
        statusChanged("alice", T0 + 7, "dnd", "away"),
        closed("alice", "c1", T0 + 8),
        closed("alice", "c2", T0 + 9),
        offline("alice", T0 + 9),
      ];
      const p = projection();
      for (const record of p.records(...events)) {
        p.batch([record]);
        const state = p.redis.load("alice");
        const again = p.batch([record]);
        expect(again).toMatchObject({ writes: [], diffs: new Map(), visibility: [], updates: [] });
        expect(p.redis.load("alice")).toEqual(state);
      }
    });

    it("the same batch from the same state gives the same refs, writes and diffs (a replay or a retried batch)", () => {
      const p = projection();
      const first = p.records(opened("alice", "c1", T0), online("alice", T0), opened("bob", "c9", T0 + 1), online("bob", T0 + 1, "away"));
      const second = p.records(statusChanged("alice", T0 + 2, "dnd", "online"), closed("bob", "c9", T0 + 3), offline("bob", T0 + 3));
      const replay = projection();
      for (const batch of [first, second]) expect(replay.batch(batch)).toEqual(p.batch(batch));
      expect(replay.redis.hashes).toEqual(p.redis.hashes);
      expect(replay.redis.zsets).toEqual(p.redis.zsets);
    });
  });

  describe("when connections view a topic", () => {
    const topic = "comments:v1";
    const viewers = (workspaceId = "w1") => keys.viewers(workspaceId, topic);
    const stored = (key: string) => Object.fromEntries(Object.entries(p.redis.hash(key)).map(([connectionId, json]) => [connectionId, JSON.parse(json) as unknown]));
    let p: ReturnType<typeof projection>;

    it("lists each viewing connection with its workspace meta under a ref of its own, and announces it to that topic only", () => {
      p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0), opened("bob", "c2", T0 + 1), online("bob", T0 + 1)));
      const joined = p.batch(p.records(topicJoined("alice", "c1", topic, T0 + 2), topicJoined("alice", "c1", topic, T0 + 2)));

      const view = metaOf("c1", "0.0.0/0.4.0", T0);
      expect(joined.diffs.size).toBe(0);
      expect([...joined.viewerDiffs.values()]).toEqual([{ workspaceId: "w1", topic, joins: { alice: { metas: [view] } }, leaves: {} }]);
      expect(joined.viewedTopics).toEqual([{ workspaceId: "w1", topic }]);
      expect(stored(viewers())).toEqual({ c1: { userId: "alice", meta: view } });
      expect(JSON.parse(p.redis.hash(keys.connections("alice")).c1!)).toMatchObject({ topics: { [topic]: "0.4.0" } });
      expect(viewers()).toBe(`${PREFIX}presence:viewers:w1:${Buffer.from(topic).toString("base64url")}`);

      const both = p.batch(p.records(topicJoined("bob", "c2", topic, T0 + 3)));
      expect([...both.viewerDiffs.values()]).toEqual([{ workspaceId: "w1", topic, joins: { bob: { metas: [metaOf("c2", "0.2.0/0.6.0", T0 + 1)] } }, leaves: {} }]);
      expect(Object.keys(p.redis.hash(viewers())).sort()).toEqual(["c1", "c2"]);
    });

    it("replaces the meta when the user's look changes, hides it while the user appears offline, and removes it once on a leave or a close", () => {
      p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0), topicJoined("alice", "c1", topic, T0 + 1)));
      const view = metaOf("c1", "0.0.0/0.2.0", T0);

      const away = p.batch(p.records(statusChanged("alice", T0 + 2, "away", "online")));
      const awayView = metaOf("c1", "0.3.0/0.2.0", T0, { status: "away" });
      expect(away.viewerDiffs.get(`w1\0${topic}`)).toEqual({ workspaceId: "w1", topic, joins: { alice: { metas: [{ ...awayView, phx_ref_prev: view.phx_ref }] } }, leaves: { alice: { metas: [view] } } });
      expect(stored(viewers())).toEqual({ c1: { userId: "alice", meta: awayView } });

      const hidden = p.batch(p.records(statusChanged("alice", T0 + 3, "offline", "away")));
      expect(hidden.viewerDiffs.get(`w1\0${topic}`)).toEqual({ workspaceId: "w1", topic, joins: {}, leaves: { alice: { metas: [awayView] } } });
      expect(p.redis.hash(viewers())).toEqual({});
      const back = p.batch(p.records(statusChanged("alice", T0 + 4, "online", "offline")));
      const backView = metaOf("c1", "0.5.0/0.2.0", T0);
      expect(back.viewerDiffs.get(`w1\0${topic}`)).toEqual({ workspaceId: "w1", topic, joins: { alice: { metas: [backView] } }, leaves: {} });

      const left = p.batch(p.records(topicLeft("alice", "c1", topic, T0 + 5)));
      expect(left.viewerDiffs.get(`w1\0${topic}`)).toEqual({ workspaceId: "w1", topic, joins: {}, leaves: { alice: { metas: [backView] } } });
      expect(p.redis.hash(viewers())).toEqual({});
      expect(JSON.parse(p.redis.hash(keys.connections("alice")).c1!)).not.toHaveProperty("topics");
      expect(p.batch(p.records(topicLeft("alice", "c1", topic, T0 + 5))).viewerDiffs.size).toBe(0);

      p.batch(p.records(topicJoined("alice", "c1", topic, T0 + 6)));
      const closing = p.batch(p.records(topicLeft("alice", "c1", topic, T0 + 7, "connection_closed"), closed("alice", "c1", T0 + 7), offline("alice", T0 + 7)));
      expect(closing.viewerDiffs.get(`w1\0${topic}`)).toEqual({ workspaceId: "w1", topic, joins: {}, leaves: { alice: { metas: [metaOf("c1", "0.5.0/0.8.0", T0)] } } });
      expect(p.redis.hash(viewers())).toEqual({});
    });

    it("a connection that joins and leaves within the batch is announced to nobody", () => {
      p = projection();
      p.batch(p.records(opened("alice", "c1", T0), online("alice", T0)));
      const outcome = p.batch(p.records(topicJoined("alice", "c1", topic, T0 + 1), topicLeft("alice", "c1", topic, T0 + 2)));
      expect(outcome.viewerDiffs.size).toBe(0);
      expect(p.redis.hash(viewers())).toEqual({});
    });
  });

  describe("when one batch holds several changes", () => {
    it("a meta that joined and left within the batch appears in neither joins nor leaves", () => {
      const p = projection();
      const outcome = p.batch(p.records(opened("alice", "c1", T0), online("alice", T0), closed("alice", "c1", T0 + 1), offline("alice", T0 + 1)));
      expect(outcome.diffs.size).toBe(0);
      expect(outcome.visibility).toEqual([]);
      expect(p.redis.zset(keys.online("w1"))).toEqual({});
      expect(outcome.updates).toEqual([expect.objectContaining({ status: "offline", last_seen: T0 + 1 })]);
    });

    it("a join replacing a meta nobody saw does not name it in phx_ref_prev", () => {
      const p = projection();
      p.batch(p.records(opened("bob", "c9", T0)));
      const outcome = p.batch(p.records(opened("alice", "c1", T0), online("alice", T0), statusChanged("alice", T0 + 1, "away", "online"), closed("bob", "c9", T0 + 2)));
      expect(outcome.diffs.get("w1")).toEqual({
        joins: { alice: { metas: [metaOf("c1", "0.3.0", T0, { status: "away" })] } },
        leaves: { bob: { metas: [metaOf("c9", "0.0.0", T0)] } },
      });
    });
  });
});
