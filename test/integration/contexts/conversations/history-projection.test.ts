import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type { EventMeta, MessageDeleted, MessageEdited, MessageRead, MessageSent } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createMongoClient } from "../../../../src/infra/mongo/mongo-connection.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import { createMysqlPool, tablePrefixOf } from "../../../../src/infra/mysql/mysql-pool.js";
import { createHistoryStore, startHistoryProjection } from "../../../../src/contexts/conversations/projections/history/history-projection.js";
import { conversationDeltaChannel, type ConversationDelta } from "../../../../src/contexts/conversations/projections/history/history-port.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { eventually, testConfig, testLogger, uniquePrefix, untilProjectionLive } from "../../../support/test-config.js";
import { messageSent } from "../../../support/message-events.js";

const logger = testLogger();

const meta = (n: number, actorId = "alice"): EventMeta => ({
  eventId: `e-${n}-${Math.random()}`,
  occurredAt: 1_700_000_000_000 + n,
  correlationId: `c-${n}`,
  causationId: null,
  actorId,
  workspaceId: "w1",
});
const sent = (seq: number, content: string): MessageSent => messageSent("c1", seq, meta(seq), { messageId: `m${seq}`, clientMsgId: `local-${seq}`, content });
const edited = (seq: number, revision: number, content: string): MessageEdited => ({
  meta: meta(100 + seq),
  conversationId: "c1",
  seq,
  messageId: `m${seq}`,
  content,
  mentionedUserIds: [],
  revision,
});
const deleted = (seq: number): MessageDeleted => ({ meta: meta(200 + seq, "bob"), conversationId: "c1", seq, messageId: `m${seq}` });

describe.each(["mysql", "mongo"] as const)("the history projection over %s", (historyStore) => {
  const prefix = uniquePrefix(`history-${historyStore}`);
  // One partition: the warm-up receipt then proves the partition the test writes to is live.
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "1", HISTORY_STORE: historyStore });
  const topic = prefix + TOPICS.messages.events;
  const pool = createMysqlPool(config.mysql.url, 4);
  const mongo = createMongoClient(config.mongo.url);
  const redis = createRedis(config.redis.url, logger, { name: "history-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "history-test-sub" });
  const store = createHistoryStore(config.conversations.historyStore, config.kafka.topicPrefix, { pool, mongo });
  const deltas: ConversationDelta[] = [];
  let producer: RecordProducer;
  let projection: ProjectionRuntime | undefined;

  const send = (records: { fullName: string; value: { conversationId: string } }[]) =>
    producer.send(records.map(({ fullName, value }) => ({ topic, key: value.conversationId, fullName: `quikchat.messages.${fullName}`, value })));

  beforeAll(async () => {
    const { codec } = await bootstrapContract(config, logger);
    producer = new RecordProducer(config.kafka, codec, logger);
    subscriber.on("message", (_channel, message) => deltas.push(JSON.parse(message) as ConversationDelta));
    await subscriber.subscribe(conversationDeltaChannel(prefix, "c1"), conversationDeltaChannel(prefix, "warmup"));
    projection = await startHistoryProjection({ config, codec, store, redis, logger });
    await untilProjectionLive(
      (seq) => {
        const read: MessageRead = { meta: meta(0), conversationId: "warmup", seq, userId: "bob", messageId: null };
        return send([{ fullName: "MessageRead", value: read }]);
      },
      () => deltas.some((delta) => delta.conversationId === "warmup"),
    );
  });

  afterAll(async () => {
    await projection?.close();
    await producer.close();
    const tables = tablePrefixOf(config.kafka.topicPrefix);
    for (const table of ["message_reactions", "messages", "projection_checkpoints"]) await pool.query(`DROP TABLE IF EXISTS \`${tables}${table}\``);
    for (const name of ["messages", "projection_checkpoints"]) await mongo.db().collection(`${tables}${name}`).drop().catch(() => undefined);
    await store.close();
    await Promise.all([pool.end(), mongo.close(), redis.quit(), subscriber.quit()]);
  });

  it("writes sent, edited and deleted messages into history", async () => {
    await send([
      { fullName: "MessageSent", value: sent(1, "hello") },
      { fullName: "MessageSent", value: sent(2, "wrold") },
      { fullName: "MessageSent", value: sent(3, "oops") },
      { fullName: "MessageEdited", value: edited(2, 1, "world") },
      { fullName: "MessageDeleted", value: deleted(3) },
    ]);
    const messages = await eventually(
      async () => {
        const found = await store.messages("c1", { limit: 10 });
        return found.length === 3 && found[2]?.deletedAt !== null ? found : undefined;
      },
      30_000,
      "c1 in history",
    );
    expect(messages.map(({ seq, content, revision }) => ({ seq, content, revision }))).toEqual([
      { seq: 1, content: "hello", revision: 0 },
      { seq: 2, content: "world", revision: 1 },
      { seq: 3, content: "", revision: 0 },
    ]);
    expect(messages[0]).toMatchObject({ id: "m1", senderId: "alice", clientMsgId: "local-1", sentAt: 1_700_000_000_001 });
    expect(await store.lastSeq("c1")).toBe(3);
    expect((await store.checkpoints(topic)).get(0)).toBeGreaterThan(0);
  });

  it("publishes the conversation's deltas after the commit, in seq order", async () => {
    const ofC1 = await eventually(async () => {
      const found = deltas.filter((delta) => delta.conversationId === "c1");
      return found.length >= 5 ? found : undefined;
    }, 15_000, "five deltas of c1");
    expect(ofC1.filter((delta) => delta.kind === "message_new").map((delta) => delta.seq)).toEqual([1, 2, 3]);
    expect(ofC1.map((delta) => delta.kind)).toEqual(["message_new", "message_new", "message_new", "message_edited", "message_deleted"]);
    expect(ofC1[0]).toMatchObject({ kind: "message_new", message: { id: "m1", content: "hello", seq: 1 } });
    expect(ofC1[3]).toEqual({
      kind: "message_edited",
      conversationId: "c1",
      seq: 2,
      messageId: "m2",
      content: "world",
      revision: 1,
      editedAt: 1_700_000_000_102,
      editedBy: "alice",
    });
    expect(ofC1[4]).toMatchObject({ kind: "message_deleted", seq: 3, messageId: "m3", deletedBy: "bob" });
  });
});
