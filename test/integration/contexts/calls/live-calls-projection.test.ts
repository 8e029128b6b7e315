import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { liveCallKeys, type CallPush, type UserPush } from "../../../../src/contexts/calls/projections/live-calls/live-calls-model.js";
import { startLiveCallsProjection } from "../../../../src/contexts/calls/projections/live-calls/live-calls-projection.js";
import { LiveCallsReadModel } from "../../../../src/contexts/calls/projections/live-calls/live-calls-read-model.js";
import { eventually, testConfig, testLogger, uniquePrefix, untilProjectionLive } from "../../../support/test-config.js";

const logger = testLogger();
const prefix = uniquePrefix("live-calls");
// One partition: the warm-up push then proves the partition the test writes to is live.
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "1" });
const topic = prefix + TOPICS.calls.events;
const keys = liveCallKeys(prefix);
const T0 = Date.now();

let sequence = 0;
const meta = (actorId: string, at = T0): EventMeta => ({
  eventId: `e-${(sequence += 1)}`,
  occurredAt: at,
  correlationId: "c",
  causationId: null,
  actorId,
  workspaceId: "w1",
});

describe("the live-calls projection", () => {
  const redis = createRedis(config.redis.url, logger, { name: "live-calls-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "live-calls-test-sub" });
  const calls = new LiveCallsReadModel(redis, prefix);
  const pushes: (UserPush | CallPush)[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let projection: ProjectionRuntime | undefined;

  const send = (...records: [type: string, value: { readonly callId: string } & Record<string, unknown>][]) =>
    producer.send(records.map(([type, value]) => ({ topic, key: value.callId, fullName: `quikchat.calls.${type}`, value })));
  const started = (callId: string, callerId: string, calleeIds: string[]): [string, { callId: string } & Record<string, unknown>] => [
    "CallStarted",
    { meta: meta(callerId), callId, callType: "audio", callerId, calleeIds, conversationId: null, ringingExpiresAt: T0 + 60_000 },
  ];
  const ofCall = (callId: string) => pushes.filter((push) => push.payload.callId === callId);
  const userPushes = (callId: string) => ofCall(callId).filter((push): push is UserPush => "userId" in push && "topic" in push);

  beforeAll(async () => {
    ({ codec } = await bootstrapContract(config, logger));
    producer = new RecordProducer(config.kafka, codec, logger);
    subscriber.on("pmessage", (_pattern: string, _channel: string, message: string) => pushes.push(JSON.parse(message) as UserPush | CallPush));
    await subscriber.psubscribe(`${prefix}calls:to-*`);
    projection = await startLiveCallsProjection({ config, codec, redis, logger });
    await untilProjectionLive(
      (n) => send(started(`warmup-${n}`, "warm", ["up"])),
      () => pushes.some((push) => String(push.payload.callId).startsWith("warmup")),
    );
  });

  afterAll(async () => {
    await projection?.close();
    await producer.close();
    const all = await redis.keys(`${prefix}*`);
    if (all.length > 0) await redis.del(...all);
    await Promise.all([redis.quit(), subscriber.quit()]);
  });

  it("keeps a call from ringing to its end, with who is busy meanwhile, and pushes each change once to whom it concerns", async () => {
    await send(started("k1", "alice", ["bob", "carol"]));
    await eventually(async () => ((await calls.call("k1")) === undefined ? undefined : true), 15_000, "the call");
    expect(await calls.call("k1")).toMatchObject({ status: "ringing", callerId: "alice", parties: { alice: "joined", bob: "ringing", carol: "ringing" } });
    // The caller is in a live call; callees who merely ring are not busy.
    expect(await calls.busy(["alice", "bob", "carol"], "other")).toEqual(["alice"]);
    expect(await calls.busy(["alice"], "k1")).toEqual([]);

    await send(
      ["CallAnswered", { meta: meta("bob"), callId: "k1", userId: "bob", connectionId: "bob-phone", maxDurationExpiresAt: T0 + 3_600_000 }],
      ["ParticipantJoined", { meta: meta("bob"), callId: "k1", userId: "bob" }],
      ["CallRejected", { meta: meta("carol"), callId: "k1", userId: "carol", reason: "declined" }],
      ["RecordingStarted", { meta: meta("alice"), callId: "k1", recordingId: "r1", startedBy: "alice" }],
      ["RecordingStopped", { meta: meta("alice"), callId: "k1", recordingId: "r1", stoppedBy: null, durationMs: 10 }],
      ["ParticipantLeft", { meta: meta("bob"), callId: "k1", userId: "bob" }],
      ["CallEnded", { meta: meta("alice"), callId: "k1", reason: "completed", durationMs: 1_000, endedBy: null }],
    );
    await eventually(async () => ((await calls.call("k1"))?.status === "ended" ? true : undefined), 15_000, "the end");
    await eventually(async () => (ofCall("k1").some((push) => push.event === "call_ended") ? true : undefined), 15_000, "the end's pushes");

    expect(await calls.call("k1")).toMatchObject({ status: "ended", endReason: "completed", parties: { alice: "joined", bob: "left", carol: "rejected" } });
    expect(await calls.busy(["alice", "bob", "carol"], "other")).toEqual([]);
    expect(await redis.pttl(keys.call("k1"))).toBeGreaterThan(0);

    const incoming = { callId: "k1", callerId: "alice", type: "audio", conversationId: null, participants: ["alice", "bob", "carol"] };
    const elsewhere = { callId: "k1", reason: "answered_elsewhere", endedBy: "bob", durationMs: 0 };
    const ended = { callId: "k1", reason: "completed", endedBy: null, durationMs: 1_000 };
    expect(ofCall("k1")).toEqual([
      { userId: "bob", workspaceId: "w1", topic: "lobby", event: "call:incoming", payload: incoming },
      { userId: "carol", workspaceId: "w1", topic: "lobby", event: "call:incoming", payload: incoming },
      { userId: "bob", workspaceId: "w1", topic: "user", event: "incoming_call", payload: incoming },
      { userId: "carol", workspaceId: "w1", topic: "user", event: "incoming_call", payload: incoming },
      { userId: "alice", workspaceId: "w1", topic: "lobby", event: "call:answered", payload: { callId: "k1", userId: "bob" } },
      { userId: "bob", workspaceId: "w1", topic: "lobby", event: "call:answered", payload: { callId: "k1", userId: "bob" } },
      { userId: "carol", workspaceId: "w1", topic: "lobby", event: "call:answered", payload: { callId: "k1", userId: "bob" } },
      { userId: "bob", workspaceId: "w1", topic: "lobby", event: "call:ended", payload: elsewhere, exceptConnectionId: "bob-phone" },
      { userId: "bob", workspaceId: "w1", topic: "user", event: "call_ended", payload: elsewhere, exceptConnectionId: "bob-phone" },
      { userId: "alice", workspaceId: "w1", topic: "lobby", event: "call:rejected", payload: { callId: "k1", userId: "carol", reason: "declined" } },
      { userId: "bob", workspaceId: "w1", topic: "lobby", event: "call:rejected", payload: { callId: "k1", userId: "carol", reason: "declined" } },
      { userId: "carol", workspaceId: "w1", topic: "lobby", event: "call:rejected", payload: { callId: "k1", userId: "carol", reason: "declined" } },
      ...["alice", "bob", "carol"].map((userId) => ({ userId, workspaceId: "w1", topic: "lobby", event: "call:ended", payload: ended })),
      ...["alice", "bob", "carol"].map((userId) => ({ userId, workspaceId: "w1", topic: "user", event: "call_ended", payload: ended })),
      // Published after the users' pushes of the same batch, on the call's own channel.
      { callId: "k1", event: "participant_joined", payload: { callId: "k1", userId: "bob" } },
      { callId: "k1", event: "recording_started", payload: { callId: "k1", recordingId: "r1", startedBy: "alice" } },
      { callId: "k1", event: "recording_stopped", payload: { callId: "k1", recordingId: "r1", stoppedBy: null, durationMs: 10 } },
      { callId: "k1", event: "participant_left", payload: { callId: "k1", userId: "bob" } },
    ]);
    expect(userPushes("k1").filter((push) => push.event === "call:ended" && push.userId === "alice")).toHaveLength(1);
  });

  it("replays nothing twice: a restarted projection neither changes the read model nor pushes again", async () => {
    const before = await calls.call("k1");
    const count = pushes.length;
    await projection?.close();
    await redis.hdel(keys.checkpoint, `${topic}:0`);
    // From the beginning: the whole topic is caught up silently, and the calls come out the same.
    projection = await startLiveCallsProjection({ config, codec, redis, logger });
    await send(started("k2", "dave", ["erin"]));
    await eventually(async () => (ofCall("k2").length > 0 ? true : undefined), 30_000, "the next call's pushes");
    expect(await calls.call("k1")).toEqual(before);
    expect(pushes.slice(count).every((push) => push.payload.callId === "k2")).toBe(true);
  });
});
