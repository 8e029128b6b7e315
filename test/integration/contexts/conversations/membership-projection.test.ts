import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type { ConversationCreated, MemberAdded, MemberRemoved } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createMysqlPool } from "../../../../src/infra/mysql/mysql-pool.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import {
  membershipChannel,
  membershipReadModel,
  startMembershipProjection,
  type MembershipDelta,
} from "../../../../src/contexts/conversations/projections/membership/membership-projection.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";

const prefix = uniquePrefix("membership");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const topic = prefix + TOPICS.conversations.events;

const meta = (n: number, actorId = "alice") => ({
  eventId: `e-${n}`,
  occurredAt: 1_700_000_000_000 + n,
  correlationId: `c-${n}`,
  causationId: null,
  actorId,
  workspaceId: "w1",
});

const created = (id: string, members: string[]): ConversationCreated => ({
  meta: meta(1),
  conversationId: id,
  type: "group",
  title: "Team",
  description: null,
  createdBy: members[0]!,
  members: members.map((userId, index) => ({ userId, role: index === 0 ? "owner" : "member" })),
});
const added = (id: string, userId: string): MemberAdded => ({ meta: meta(2), conversationId: id, userId, role: "member" });
const removed = (id: string, userId: string): MemberRemoved => ({ meta: meta(3), conversationId: id, userId, reason: "removed" });

describe("the membership projection", () => {
  const pool = createMysqlPool(config.mysql.url, 4);
  const redis = createRedis(config.redis.url, logger, { name: "membership-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "membership-test-sub" });
  const { store, readModel } = membershipReadModel(pool, redis, config.kafka.topicPrefix);
  const deltas: MembershipDelta[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let projection: ProjectionRuntime | undefined;

  const send = (values: { fullName: string; value: { conversationId: string } }[]) =>
    producer.send(values.map(({ fullName, value }) => ({ topic, key: value.conversationId, fullName, value })));

  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await subscriber.subscribe(membershipChannel(prefix));
    subscriber.on("message", (_channel, message) => deltas.push(JSON.parse(message) as MembershipDelta));
    projection = await startMembershipProjection({ config, codec, pool, redis, logger });
  });

  afterAll(async () => {
    await projection?.close();
    await producer.close();
    for (const table of ["conversation_members", "conversations", "projection_checkpoints"]) {
      await pool.query(`DROP TABLE IF EXISTS \`${prefix.replace(/[^A-Za-z0-9_]/g, "_")}${table}\``);
    }
    await Promise.all([pool.end(), redis.quit(), subscriber.quit()]);
  });

  it("materializes conversations and members, and answers membership from the cache", async () => {
    await send([
      { fullName: "quikchat.conversations.ConversationCreated", value: created("c1", ["alice", "bob"]) },
      { fullName: "quikchat.conversations.MemberAdded", value: added("c1", "carol") },
      { fullName: "quikchat.conversations.MemberRemoved", value: removed("c1", "bob") },
    ]);
    const view = await eventually(async () => {
      const found = await store.conversation("c1");
      return found?.members.length === 2 && !found.members.some((m) => m.userId === "bob") ? found : undefined;
    }, 30_000, "c1 projected");
    expect(view).toMatchObject({ id: "c1", workspaceId: "w1", type: "group", title: "Team", createdBy: "alice" });
    expect(view.members).toEqual([
      { userId: "alice", role: "owner" },
      { userId: "carol", role: "member" },
    ]);
    expect(await readModel.isMember("c1", "carol", "w1")).toBe(true);
    expect(await readModel.isMember("c1", "bob", "w1")).toBe(false);
    expect(await readModel.isMember("c1", "alice", "another-workspace")).toBe(false);
    expect(await readModel.membership("nowhere", "alice")).toEqual({ exists: false, workspaceId: "", member: false });
  });

  it("publishes membership deltas after the write commits", async () => {
    await eventually(async () => (deltas.some((d) => d.userId === "bob" && d.change === "removed") ? true : undefined));
    expect(deltas).toEqual(
      expect.arrayContaining([
        { conversationId: "c1", userId: "carol", change: "added" },
        { conversationId: "c1", userId: "bob", change: "removed" },
      ]),
    );
  });

  it("honours membership events written by upstream services for conversations it never saw created", async () => {
    await send([{ fullName: "quikchat.conversations.MemberAdded", value: added("upstream-1", "dave") }]);
    await eventually(async () => ((await readModel.isMember("upstream-1", "dave", "w1")) ? true : undefined), 30_000);
  });

  it("changes nothing when the same events are applied again", async () => {
    const before = await store.conversation("c1");
    const checkpoints = await store.checkpoints(topic);
    expect(checkpoints.size).toBeGreaterThan(0);
    for (const [partition, next] of checkpoints) {
      // Re-deliver every offset below the checkpoint, as a redelivery after a crash would.
      const replay = Array.from({ length: next }, (_, offset) => ({
        topic,
        partition,
        offset,
        key: "c1",
        timestamp: 0,
        headers: {},
        fullName: "quikchat.conversations.MemberAdded",
        value: added("c1", "bob"),
      }));
      expect(await store.apply(topic, partition, replay)).toEqual([]);
    }
    expect(await store.conversation("c1")).toEqual(before);
  });

  it("resumes from its checkpoint after a restart", async () => {
    await projection?.close();
    await send([{ fullName: "quikchat.conversations.MemberAdded", value: added("c1", "erin") }]);
    projection = await startMembershipProjection({ config, codec, pool, redis, logger });
    const view = await eventually(async () => {
      const found = await store.conversation("c1");
      return found?.members.some((m) => m.userId === "erin") ? found : undefined;
    }, 30_000, "erin projected after restart");
    expect(view.members.map((m) => m.userId)).toEqual(["alice", "carol", "erin"]);
  });
});
