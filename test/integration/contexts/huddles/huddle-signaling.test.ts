import { randomBytes, randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import { startSignalRelay } from "../../../../src/contexts/calls/projections/signal-relay/signal-relay.js";
import type { SignalPush } from "../../../../src/contexts/calls/projections/live-calls/live-calls-model.js";
import { huddleProcessor } from "../../../../src/contexts/huddles/processor.js";
import { huddleSignalRoute } from "../../../../src/contexts/huddles/projections/signal-relay/huddle-signal-route.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { RecordProducer, type OutgoingRecord } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { CommandMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { startProcessor, type ProcessorHandle } from "../../../../src/platform/processor/processor-runtime.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { commandIdOf, processorDeps, readTopic, ReplyListener } from "../../../support/processor-harness.js";
import { eventually, testConfig, testLogger, untilProjectionLive, uniquePrefix } from "../../../support/test-config.js";

const prefix = uniquePrefix("huddlesig");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const topics = {
  huddles: prefix + TOPICS.huddles.commands,
  signals: prefix + TOPICS.huddlesignaling.commands,
  relayed: prefix + TOPICS.huddlesignaling.events,
  callSignals: prefix + TOPICS.signaling.events,
};
const gateway = `gw-${randomBytes(4).toString("hex")}`;
const SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n";

/**
 * The huddles processor deciding a huddle's signals from `quikapp.huddlesignaling.commands`
 * beside its commands, and the calls' signal relay run for huddles, delivering each relayed
 * signal on its recipient's channel of that huddle: against Kafka and Redis.
 */
describe("signaling inside a huddle, against Kafka and Redis", () => {
  const redis = createRedis(config.redis.url, logger, { name: "huddle-signaling-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "huddle-signaling-test-sub" });
  const replies = new ReplyListener(config.redis.url, gateway, logger);
  /** Every signal delivered, with the channel it came on (without the prefix). */
  const delivered: { channel: string; push: SignalPush }[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let processor: ProcessorHandle | undefined;
  let relay: ProjectionRuntime | undefined;

  /** A command as a gateway sends it; answered on this test's reply channel unless `expectReply` is false. */
  function command(topic: string, context: string, type: string, actorId: string, huddleId: string, fields: Record<string, unknown>, expectReply = true): OutgoingRecord {
    const meta: CommandMeta = { commandId: randomUUID(), correlationId: randomUUID(), actorId, workspaceId: "w1", issuedAt: Date.now(), replyTo: expectReply ? gateway : null };
    return { topic, key: huddleId, fullName: `quikchat.${context}.${type}`, value: { meta, huddleId, ...fields } };
  }
  const create = (actorId: string, huddleId: string, inviteeIds: string[]) =>
    command(topics.huddles, "huddles", "CreateHuddle", actorId, huddleId, { conversationId: null, title: null, inviteeIds, connectionId: `${actorId}-c1`, muted: false, videoEnabled: false });
  const join = (actorId: string, huddleId: string) => command(topics.huddles, "huddles", "JoinHuddle", actorId, huddleId, { muted: false, videoEnabled: false, connectionId: `${actorId}-c1`, memberOfConversation: false });
  const leave = (actorId: string, huddleId: string) => command(topics.huddles, "huddles", "LeaveHuddle", actorId, huddleId, { userId: null, connectionId: null, reason: "left" });
  const offer = (from: string, to: string, huddleId: string, expectReply = true) =>
    command(topics.signals, "huddlesignaling", "SendHuddleOffer", from, huddleId, { toUserId: to, sdp: SDP }, expectReply);
  const answer = (from: string, to: string, huddleId: string) => command(topics.signals, "huddlesignaling", "SendHuddleAnswer", from, huddleId, { toUserId: to, sdp: SDP }, false);
  const candidate = (from: string, to: string, huddleId: string, line: string) =>
    command(topics.signals, "huddlesignaling", "SendHuddleIceCandidate", from, huddleId, { toUserId: to, candidate: line, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null }, false);

  async function send(record: OutgoingRecord) {
    await producer.send([record]);
    return (await replies.of(commandIdOf(record)))[0];
  }
  const to = (huddleId: string, userId: string) => delivered.filter(({ channel }) => channel === `huddle-signals:to:${huddleId}:${userId}`).map(({ push }) => push);

  beforeAll(async () => {
    ({ codec } = await bootstrapContract(config, logger));
    producer = new RecordProducer(config.kafka, codec, logger);
    await replies.start();
    subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => delivered.push({ channel: channel.slice(prefix.length), push: JSON.parse(message) as SignalPush }));
    await subscriber.psubscribe(`${prefix}huddle-signals:to:*`);
    processor = await startProcessor(huddleProcessor({ maxParticipants: 4, emptyTimeoutMs: 0 }), processorDeps(config, { codec, redis, logger, registry: new Registry() }), {
      sessionTimeoutMs: 6_000,
      transactionTimeoutMs: 5_000,
    });
    await eventually(() => Promise.resolve(processor!.assignment().length > 0 ? true : undefined), 30_000, "partitions assigned");
    relay = await startSignalRelay({ config, codec, redis, logger }, huddleSignalRoute(prefix));
    // Warm-up huddles on both partitions: each offer relayed before the relay went live publishes nothing.
    await untilProjectionLive(
      async (n) => {
        for (const huddleId of [`warm-${n}-a`, `warm-${n}-b`]) {
          await send(create("warm1", huddleId, ["warm2"]));
          await send(join("warm2", huddleId));
          await producer.send([offer("warm1", "warm2", huddleId, false)]);
        }
      },
      () => new Set(delivered.filter(({ push }) => push.userId === "warm2").map(({ push }) => push.payload.huddleId)).size >= 2,
    );
  }, 90_000);

  afterAll(async () => {
    await relay?.close();
    await processor?.close();
    await Promise.all([producer?.close(), replies.close()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await subscriber.quit();
    redis.disconnect();
  });

  it("relays offer, answer and candidates between participants, in order, to the recipient's channel of that huddle only", async () => {
    const huddle = "h-signals";
    expect(await send(create("alice", huddle, ["bob", "carol"]))).toMatchObject({ ok: true });
    expect(await send(join("bob", huddle))).toMatchObject({ ok: true });
    expect(await send(offer("alice", "bob", huddle))).toMatchObject({ ok: true, result: { huddleId: huddle } });
    await producer.send([answer("bob", "alice", huddle), candidate("bob", "alice", huddle, "candidate:1 1 udp 1 127.0.0.1 5000 typ relay"), candidate("bob", "alice", huddle, "")]);

    const toAlice = await eventually(async () => (to(huddle, "alice").length === 3 ? to(huddle, "alice") : undefined), 20_000, "alice's three signals");
    expect(toAlice).toEqual([
      { userId: "alice", workspaceId: "w1", topic: "signal", kind: "answer", payload: { huddleId: huddle, from: "bob", sdp: SDP } },
      {
        userId: "alice",
        workspaceId: "w1",
        topic: "signal",
        kind: "ice-candidate",
        payload: { huddleId: huddle, from: "bob", candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ relay", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null },
      },
      expect.objectContaining({ kind: "ice-candidate", payload: expect.objectContaining({ candidate: "" }) }),
    ]);
    expect(to(huddle, "bob")).toEqual([{ userId: "bob", workspaceId: "w1", topic: "signal", kind: "offer", payload: { huddleId: huddle, from: "alice", sdp: SDP } }]);
  });

  it("refuses signals from or to anyone not in the huddle now, and of a huddle over or unknown, and relays none of them", async () => {
    const huddle = "h-refused";
    expect(await send(create("alice", huddle, ["bob", "carol"]))).toMatchObject({ ok: true });
    expect(await send(join("bob", huddle))).toMatchObject({ ok: true });
    // carol is invited but has not joined; mallory was never part of it.
    expect(await send(offer("alice", "carol", huddle))).toMatchObject({ ok: false, error: { code: "not_a_participant" } });
    expect(await send(offer("mallory", "bob", huddle))).toMatchObject({ ok: false, error: { code: "not_a_participant" } });
    expect(await send(offer("alice", "alice", huddle))).toMatchObject({ ok: false, error: { code: "invalid" } });
    // A huddle's signal is the huddle's to decide: never a call's `not_found`.
    expect(await send(offer("alice", "bob", "h-never-created"))).toMatchObject({ ok: false, error: { code: "not_found", message: "no such huddle" } });
    expect(await send(leave("bob", huddle))).toMatchObject({ ok: true });
    expect(await send(offer("alice", "bob", huddle))).toMatchObject({ ok: false, error: { code: "not_a_participant" } });
    expect(await send(leave("alice", huddle))).toMatchObject({ ok: true });
    expect(await send(offer("alice", "bob", huddle))).toMatchObject({ ok: false, error: { code: "not_found" } });

    const relayed = (await readTopic(config, topics.relayed, codec)).filter((record) => record.key === huddle || record.key === "h-never-created");
    expect(relayed).toEqual([]);
    expect(delivered.filter(({ push }) => push.payload.huddleId === huddle || push.payload.huddleId === "h-never-created")).toEqual([]);
    // Nothing of the huddles went to the calls' signaling topic.
    expect((await readTopic(config, topics.callSignals, codec)).length).toBe(0);
  });
});
