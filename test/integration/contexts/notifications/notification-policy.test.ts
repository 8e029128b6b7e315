import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createMysqlPool } from "../../../../src/infra/mysql/mysql-pool.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { ConversationCreated, ConversationMuteSet, EventMeta, MessageRead } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import type { RunningProjection } from "../../../../src/platform/context-module.js";
import { startMembershipProjection } from "../../../../src/contexts/conversations/projections/membership/membership-projection.js";
import { startReadPositionsProjection } from "../../../../src/contexts/conversations/projections/membership/read-positions-projection.js";
import { startMutesProjection } from "../../../../src/contexts/conversations/projections/mutes/mutes-projection.js";
import { presenceKeys, type PresenceConnection } from "../../../../src/contexts/presence/projections/presence/presence-model.js";
import { policyKeys, toUserChannel, type ToUserPush } from "../../../../src/contexts/notifications/policy/policy-model.js";
import { startCallsPolicy, startHuddlesPolicy, startMessagesPolicy, type PolicyDeps } from "../../../../src/contexts/notifications/policy/policy-projections.js";
import { readModelFacts } from "../../../../src/contexts/notifications/policy/read-model-facts.js";
import { messageSent } from "../../../support/message-events.js";
import { readTopic, type ReadRecord } from "../../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";

const WINDOW_MS = 1_500;
const prefix = uniquePrefix("notify-policy");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const commandsTopic = prefix + TOPICS.notifications.commands;

let sequence = 0;
const meta = (actorId: string, at = Date.now()): EventMeta => ({ eventId: `e-${(sequence += 1)}`, occurredAt: at, correlationId: "c", causationId: null, actorId, workspaceId: "w1" });

const created = (id: string, members: string[]): ConversationCreated => ({
  meta: meta(members[0]!),
  conversationId: id,
  type: "group",
  title: "Launch",
  description: null,
  createdBy: members[0]!,
  members: members.map((userId, index) => ({ userId, role: index === 0 ? "owner" : "member" })),
});

/**
 * The notification policy against Kafka, Redis and MariaDB: message, call and huddle events in, the
 * membership and read positions projected by their own projections, `RequestNotification`
 * commands read back from `quikapp.notifications.commands`, and the user-channel pushes from
 * Redis pub/sub.
 */
describe("the notification policy", () => {
  const pool = createMysqlPool(config.mysql.url, 4);
  const redis = createRedis(config.redis.url, logger, { name: "notify-policy-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "notify-policy-test-sub" });
  const pushes: { userId: string; push: ToUserPush }[] = [];
  const running: { close(): Promise<void> }[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let deps: PolicyDeps;
  let messagesPolicy: RunningProjection;

  const send = (context: "conversations" | "messages" | "calls" | "huddles", key: string, type: string, value: object) =>
    producer.send([{ topic: prefix + TOPICS[context].events, key, fullName: `quikchat.${context}.${type}`, value }]);
  const requests = async (): Promise<Record<string, unknown>[]> =>
    (await readTopic(config, commandsTopic, codec)).filter((record: ReadRecord) => record.fullName === "quikchat.notifications.RequestNotification").map((record) => record.value!);
  const requestsFor = async (predicate: (request: Record<string, unknown>) => boolean, count: number, what: string) =>
    eventually(async () => {
      const found = (await requests()).filter(predicate);
      return found.length >= count ? found : undefined;
    }, 30_000, what);

  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
      pushes.push({ userId: channel.slice(toUserChannel(prefix, "").length), push: JSON.parse(message) as ToUserPush });
    });
    await subscriber.psubscribe(`${toUserChannel(prefix, "")}*`);
    running.push(await startMembershipProjection({ config, codec, pool, redis, logger }));
    running.push(await startReadPositionsProjection({ config, codec, pool, logger }));
    running.push(await startMutesProjection({ config, codec, pool, logger }));
    const facts = readModelFacts({ pool, redis, topicPrefix: prefix });
    await facts.ensureSchema();
    deps = { config, codec, redis, logger, facts, timing: { batchWindowMs: WINDOW_MS, maxAgeMs: 600_000 } };
    messagesPolicy = await startMessagesPolicy(deps);
    running.push(await startCallsPolicy(deps));
    running.push(await startHuddlesPolicy(deps));
    await send("conversations", "c1", "ConversationCreated", created("c1", ["alice", "bob", "carol"]));
    await send("conversations", "c2", "ConversationCreated", created("c2", ["alice", "bob"]));
    await eventually(async () => ((await facts.conversation("c2")) === undefined ? undefined : true), 30_000, "the conversations in the membership read model");
    // The policy goes live (its `message` pushes show it) before the tests count what it does.
    let warm = 0;
    await eventually(
      async () => {
        warm += 1;
        await send("messages", "c2", "MessageSent", messageSent("c2", warm, meta("alice"), { messageId: `warm-${warm}` }));
        await new Promise((resolve) => setTimeout(resolve, 500));
        return pushes.some(({ push }) => push.event === "message" && push.conversationId === "c2") ? true : undefined;
      },
      60_000,
      "the policy to go live",
    );
  }, 120_000);

  afterAll(async () => {
    await messagesPolicy?.close();
    for (const projection of running.reverse()) await projection.close();
    await producer?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await Promise.all([redis.quit(), subscriber.quit(), pool.end()]);
  });

  it("asks once per member for a burst of messages, summarising it, never for the sender, and tells the user channels", async () => {
    const at = Date.now();
    for (let seq = 1; seq <= 3; seq += 1) {
      await send("messages", "c1", "MessageSent", messageSent("c1", seq, meta("alice", at + seq), { content: `part ${seq}`, mentionedUserIds: seq === 2 ? ["carol"] : [] }));
    }
    const [bob, carol] = await Promise.all([
      requestsFor((request) => request.userId === "bob" && request.conversationId === "c1", 1, "bob's notification"),
      requestsFor((request) => request.userId === "carol" && request.conversationId === "c1", 1, "carol's notification"),
    ]);
    expect(bob).toEqual([
      expect.objectContaining({
        notificationId: "message:c1:1:bob",
        category: "new_message",
        title: "Launch",
        body: "3 new messages from alice",
        messageId: "c1-m3",
        priority: "normal",
        collapseKey: "conversation:c1",
        data: { conversationId: "c1", messageId: "c1-m3", seq: "3", count: "3", badge: expect.any(String) },
        meta: expect.objectContaining({ commandId: "message:c1:1:bob", actorId: "system:notifications", workspaceId: "w1" }),
      }),
    ]);
    expect(Number((bob[0]!.data as Record<string, string>).badge)).toBeGreaterThanOrEqual(3);
    expect(carol).toEqual([expect.objectContaining({ notificationId: "message:c1:1:carol", category: "mention", priority: "high" })]);
    // Every message reached the others' user channels as it came; the notifications after the window.
    const ofC1 = (userId: string, event: string) => pushes.filter((entry) => entry.userId === userId && entry.push.event === event && JSON.stringify(entry.push).includes('"c1"'));
    expect(ofC1("bob", "message").map(({ push }) => (push.event === "message" ? push.payload.seq : 0))).toEqual([1, 2, 3]);
    expect(ofC1("carol", "message").filter(({ push }) => push.event === "message" && push.payload.mentioned)).toHaveLength(1);
    expect(ofC1("alice", "message")).toEqual([]);
    await eventually(async () => (ofC1("bob", "notification").length === 1 ? true : undefined), 10_000, "bob's notification push");
    expect(ofC1("bob", "notification")[0]!.push).toMatchObject({ event: "notification", workspaceId: "w1", payload: { notificationId: "message:c1:1:bob", body: "3 new messages from alice" } });
    // Nothing for the sender, and nothing more once the burst is gone.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 1_000));
    expect((await requests()).filter((request) => request.conversationId === "c1").map((request) => request.userId).sort()).toEqual(["bob", "carol"]);
    expect(await redis.zscore(policyKeys(prefix).messages.due, "c1")).toBeNull();
  }, 60_000);

  it("does not notify a member who read the burst before it was due", async () => {
    const at = Date.now();
    await send("messages", "c1", "MessageSent", messageSent("c1", 4, meta("alice", at), { content: "are you there?" }));
    const read: MessageRead = { meta: meta("carol", at + 1), conversationId: "c1", seq: 4, userId: "carol", messageId: "c1-m4" };
    await send("messages", "c1", "MessageRead", read);
    await requestsFor((request) => request.notificationId === "message:c1:4:bob", 1, "bob's notification of message 4");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await requests()).filter((request) => request.notificationId === "message:c1:4:carol")).toEqual([]);
  }, 60_000);

  it("keeps a burst across a restart of the policy: asked once, nothing lost", async () => {
    const at = Date.now();
    await send("messages", "c1", "MessageSent", messageSent("c1", 5, meta("alice", at), { content: "before the restart" }));
    await eventually(async () => ((await redis.llen(policyKeys(prefix).messages.burst("c1"))) > 0 ? true : undefined), 15_000, "the burst in Redis");
    await messagesPolicy.close();
    await send("messages", "c1", "MessageSent", messageSent("c1", 6, meta("alice", at + 1), { content: "during the restart" }));
    messagesPolicy = await startMessagesPolicy(deps);
    const asked = await requestsFor((request) => request.userId === "bob" && typeof request.notificationId === "string" && ["message:c1:5:bob", "message:c1:6:bob"].includes(request.notificationId), 1, "bob's notification after the restart");
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 2 + 1_000));
    const after = (await requests()).filter((request) => request.userId === "bob" && /^message:c1:[56]:/.test(String(request.notificationId)));
    // Message 5's burst was due while the policy was down: requested on restart; 6 joins it or follows it, never twice.
    const counts = after.map((request) => Number((request.data as Record<string, string>).count));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(2);
    expect(new Set(after.map((request) => request.notificationId)).size).toBe(after.length);
    expect(asked.length).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it("waits for the membership read model when it is behind the messages", async () => {
    await send("messages", "c3", "MessageSent", messageSent("c3", 1, meta("alice"), { content: "before the conversation is known" }));
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 1_000));
    expect((await requests()).filter((request) => request.conversationId === "c3")).toEqual([]);
    await send("conversations", "c3", "ConversationCreated", created("c3", ["alice", "bob"]));
    const asked = await requestsFor((request) => request.conversationId === "c3", 1, "bob's notification once c3 is known");
    expect(asked).toEqual([expect.objectContaining({ userId: "bob", notificationId: "message:c3:1:bob", body: "alice: before the conversation is known" })]);
  }, 60_000);

  it("clears a member's notifications on their other devices when they read what they were notified of, and only then", async () => {
    await send("conversations", "c4", "ConversationCreated", created("c4", ["alice", "bob"]));
    await eventually(async () => ((await deps.facts.conversation("c4")) === undefined ? undefined : true), 30_000, "c4 in the membership read model");
    const at = Date.now();
    await send("messages", "c4", "MessageSent", messageSent("c4", 1, meta("alice", at), { content: "one" }));
    await send("messages", "c4", "MessageSent", messageSent("c4", 2, meta("alice", at + 1), { content: "two" }));
    await requestsFor((request) => request.notificationId === "message:c4:1:bob", 1, "bob's notification of c4");
    const read = (userId: string, seq: number): MessageRead => ({ meta: meta(userId), conversationId: "c4", seq, userId, messageId: `c4-m${seq}` });
    const silent = (userId: string) => async () => (await requests()).filter((request) => request.category === "conversation_read" && request.userId === userId);
    // The sender was never notified: their read asks for nothing.
    await send("messages", "c4", "MessageRead", read("alice", 2));
    // Bob reads the first message, then the second: each read of what he was notified of asks once.
    await send("messages", "c4", "MessageRead", read("bob", 1));
    const [first] = await requestsFor((request) => request.notificationId === "read:c4:1:bob", 1, "bob's first silent notification");
    expect(first).toEqual(
      expect.objectContaining({
        category: "conversation_read",
        priority: "normal",
        title: "",
        body: "",
        conversationId: "c4",
        collapseKey: "conversation-read:c4",
        data: { conversationId: "c4", readSeq: "1", badge: expect.any(String) },
        meta: expect.objectContaining({ commandId: "read:c4:1:bob", correlationId: "c4", actorId: "system:notifications", workspaceId: "w1" }),
      }),
    );
    await send("messages", "c4", "MessageRead", read("bob", 2));
    const [second] = await requestsFor((request) => request.notificationId === "read:c4:2:bob", 1, "bob's second silent notification");
    // The read positions may lag the policy: the badge counts the read anyway.
    expect(Number((first!.data as Record<string, string>).badge) - Number((second!.data as Record<string, string>).badge)).toBe(1);
    // Everything notified is read: a further read of c4 (a message bob sent himself) asks nothing.
    await send("messages", "c4", "MessageSent", messageSent("c4", 3, meta("bob"), { content: "three", senderId: "bob" }));
    await send("messages", "c4", "MessageRead", read("bob", 3));
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 1_000));
    expect((await silent("bob")()).map((request) => request.notificationId)).toEqual(["read:c4:1:bob", "read:c4:2:bob"]);
    expect(await silent("alice")()).toEqual([]);
    // Silent: nothing on the user channel.
    expect(pushes.filter(({ push }) => push.event === "notification" && push.payload.category === "conversation_read")).toEqual([]);
    expect(await redis.hlen(policyKeys(prefix).messages.readsDue)).toBe(0);
    expect(await redis.hget(policyKeys(prefix).messages.notified("c4"), "bob")).toBeNull();
  }, 60_000);

  it("rings every callee of a call at once, and tells the one who never answered of a missed call", async () => {
    const at = Date.now();
    await send("calls", "k1", "CallStarted", { meta: meta("alice", at), callId: "k1", callType: "audio", callerId: "alice", calleeIds: ["bob", "carol"], conversationId: "c1", ringingExpiresAt: at + 60_000 });
    const incoming = await requestsFor((request) => request.callId === "k1" && request.category === "incoming_call", 2, "the incoming calls");
    expect(incoming.map((request) => request.userId).sort()).toEqual(["bob", "carol"]);
    expect(incoming[0]).toMatchObject({ priority: "high", title: "Incoming audio call", body: "alice is calling you", collapseKey: "call:k1" });
    await send("calls", "k1", "CallAnswered", { meta: meta("bob", at + 1), callId: "k1", userId: "bob", connectionId: null, maxDurationExpiresAt: at + 3_600_000 });
    await send("calls", "k1", "CallEnded", { meta: meta("bob", at + 2), callId: "k1", reason: "completed", durationMs: 1_000, endedBy: "bob" });
    const missed = await requestsFor((request) => request.callId === "k1" && request.category === "missed_call", 1, "the missed call");
    expect(missed).toEqual([expect.objectContaining({ userId: "carol", notificationId: "call:k1:missed:carol", body: "You missed a call from alice" })]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await requests()).filter((request) => request.callId === "k1")).toHaveLength(3);
    expect(await redis.llen(policyKeys(prefix).calls.outbox)).toBe(0);
  }, 60_000);

  it("invites to a huddle each invitee without a live socket who did not mute its conversation, once, and nobody to a huddle that ended", async () => {
    const at = Date.now();
    const mute: ConversationMuteSet = { meta: meta("carol", at), conversationId: "c1", userId: "carol", muted: true, mutedUntil: null };
    await send("conversations", "c1", "ConversationMuteSet", mute);
    await eventually(async () => ((await deps.facts.mutedAmong("c1", ["carol"])).has("carol") ? true : undefined), 30_000, "carol's mute in the read model");
    // dave has a live socket (as presence records it): he is told on his user channel, not pushed.
    const socket: PresenceConnection = { connectionId: "dave-1", gatewayId: "g1", deviceId: null, platform: "web", onlineAt: at, expiresAt: at + 600_000, phxRef: "1" };
    await redis.hset(presenceKeys(prefix).connections("dave"), "dave-1", JSON.stringify(socket));

    await send("huddles", "h1", "HuddleCreated", { meta: meta("alice", at), huddleId: "h1", createdBy: "alice", conversationId: "c1", title: "Standup" });
    await send("huddles", "h1", "HuddleParticipantsInvited", { meta: meta("alice", at + 1), huddleId: "h1", userIds: ["bob", "carol", "dave"] });
    // Created, invited and ended at once: the policy sees the end before the invitation is due.
    const h2 = (type: string, value: object) => ({ topic: prefix + TOPICS.huddles.events, key: "h2", fullName: `quikchat.huddles.${type}`, value });
    await producer.send([
      h2("HuddleCreated", { meta: meta("alice", at), huddleId: "h2", createdBy: "alice", conversationId: null, title: null }),
      h2("HuddleParticipantsInvited", { meta: meta("alice", at + 1), huddleId: "h2", userIds: ["bob"] }),
      h2("HuddleEnded", { meta: meta("alice", at + 2), huddleId: "h2", reason: "ended", durationMs: 2, endedBy: "alice" }),
    ]);
    const [bob] = await requestsFor((request) => request.huddleId === "h1", 1, "bob's invitation");
    expect(bob).toMatchObject({
      userId: "bob",
      notificationId: expect.stringMatching(/^huddle:h1:invite:bob:\d+\.\d+$/),
      category: "huddle_invite",
      title: "alice invited you to a huddle",
      body: "Standup",
      data: { huddleId: "h1", conversationId: "c1" },
      conversationId: "c1",
      huddleId: "h1",
      priority: "high",
      collapseKey: "huddle:h1",
      meta: expect.objectContaining({ commandId: bob!.notificationId, actorId: "system:notifications", workspaceId: "w1" }),
    });
    await eventually(async () => (pushes.some(({ userId, push }) => userId === "bob" && push.event === "notification" && push.payload.notificationId === bob!.notificationId) ? true : undefined), 10_000, "bob's notification push");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await requests()).filter((request) => request.huddleId === "h1" || request.huddleId === "h2").map((request) => request.userId)).toEqual(["bob"]);
    expect(await redis.llen(policyKeys(prefix).huddles.outbox)).toBe(0);
  }, 60_000);
});
