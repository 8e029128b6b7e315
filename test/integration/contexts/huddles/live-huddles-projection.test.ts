import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { liveHuddleKeys, participantsOf, type HuddlePush } from "../../../../src/contexts/huddles/projections/live-huddles/live-huddles-model.js";
import { startLiveHuddlesProjection } from "../../../../src/contexts/huddles/projections/live-huddles/live-huddles-projection.js";
import { LiveHuddlesReadModel } from "../../../../src/contexts/huddles/projections/live-huddles/live-huddles-read-model.js";
import { eventually, testConfig, testLogger, uniquePrefix, untilProjectionLive } from "../../../support/test-config.js";

const logger = testLogger();
const prefix = uniquePrefix("live-huddles");
// One partition: the warm-up push then proves the partition the test writes to is live.
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "1" });
const topic = prefix + TOPICS.huddles.events;
const keys = liveHuddleKeys(prefix);
const T0 = Date.now();

let sequence = 0;
const meta = (actorId: string, at = T0): EventMeta => ({ eventId: `e-${(sequence += 1)}`, occurredAt: at, correlationId: "c", causationId: null, actorId, workspaceId: "w1" });
type Event = [type: string, value: { readonly huddleId: string } & Record<string, unknown>];
const created = (huddleId: string, createdBy: string, conversationId: string | null): Event => ["HuddleCreated", { meta: meta(createdBy), huddleId, createdBy, conversationId, title: null }];
const joined = (huddleId: string, userId: string, connectionId: string, muted = false): Event => [
  "HuddleParticipantJoined",
  { meta: meta(userId), huddleId, userId, muted, videoEnabled: false, connectionId },
];
const left = (huddleId: string, userId: string, reason: string): Event => ["HuddleParticipantLeft", { meta: meta(userId), huddleId, userId, reason, emptyExpiresAt: null }];

describe("the live-huddles projection", () => {
  const redis = createRedis(config.redis.url, logger, { name: "live-huddles-test" });
  const subscriber = createRedis(config.redis.url, logger, { name: "live-huddles-test-sub" });
  const huddles = new LiveHuddlesReadModel(redis, prefix);
  /** Every push, with the channel it came on (without the prefix). */
  const pushes: { channel: string; push: HuddlePush }[] = [];
  let codec: AvroCodec;
  let producer: RecordProducer;
  let projection: ProjectionRuntime | undefined;

  const send = (...events: Event[]) => producer.send(events.map(([type, value]) => ({ topic, key: value.huddleId, fullName: `quikchat.huddles.${type}`, value })));
  const ofHuddle = (huddleId: string) => pushes.filter(({ push }) => push.huddleId === huddleId);

  beforeAll(async () => {
    ({ codec } = await bootstrapContract(config, logger));
    producer = new RecordProducer(config.kafka, codec, logger);
    subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => pushes.push({ channel: channel.slice(prefix.length), push: JSON.parse(message) as HuddlePush }));
    await subscriber.psubscribe(`${prefix}huddles:to-*`);
    projection = await startLiveHuddlesProjection({ config, codec, redis, logger });
    await untilProjectionLive(
      (n) => send(created(`warmup-${n}`, "warm", "conv-warm")),
      () => pushes.some(({ push }) => push.huddleId.startsWith("warmup")),
    );
  });

  afterAll(async () => {
    await projection?.close();
    await producer.close();
    const all = await redis.keys(`${prefix}*`);
    if (all.length > 0) await redis.del(...all);
    await Promise.all([redis.quit(), subscriber.quit()]);
  });

  it("keeps a conversation's huddle with its participants' media state, and pushes each change once to the huddle, the conversation or the user invited", async () => {
    const liveBefore = await huddles.liveCount();
    await send(
      created("h1", "alice", "conv-1"),
      ["HuddleParticipantsInvited", { meta: meta("alice"), huddleId: "h1", userIds: ["dan"] }],
      joined("h1", "alice", "alice-c1"),
      joined("h1", "bob", "bob-c1", true),
      ["AudioToggled", { meta: meta("bob"), huddleId: "h1", userId: "bob", muted: false }],
      ["ScreenShareToggled", { meta: meta("alice"), huddleId: "h1", userId: "alice", sharing: true }],
      ["HandRaised", { meta: meta("bob"), huddleId: "h1", userId: "bob", raised: true }],
      ["VideoToggled", { meta: meta("bob"), huddleId: "h1", userId: "bob", videoEnabled: true }],
    );
    const live = await eventually(async () => {
      const huddle = await huddles.ofConversation("conv-1");
      return huddle !== undefined && Object.keys(huddle.participants).length === 2 && huddle.participants.bob?.video === true ? huddle : undefined;
    }, 15_000, "the huddle with its participants");
    expect(live).toMatchObject({ huddleId: "h1", status: "live", createdBy: "alice", conversationId: "conv-1", invited: ["dan"] });
    expect(participantsOf(live)).toEqual([
      { userId: "alice", audio: true, video: false, screen: true, handRaised: false, joinedAt: T0, connectionId: "alice-c1" },
      { userId: "bob", audio: true, video: true, screen: false, handRaised: true, joinedAt: T0, connectionId: "bob-c1" },
    ]);
    expect(await huddles.liveCount()).toBe(liveBefore + 1);

    await send(left("h1", "bob", "connection_lost"), left("h1", "alice", "left"), ["HuddleEnded", { meta: meta("alice"), huddleId: "h1", reason: "empty", durationMs: 5_000, endedBy: null }]);
    await eventually(async () => ((await huddles.huddle("h1"))?.status === "ended" ? true : undefined), 15_000, "the end");
    await eventually(async () => (ofHuddle("h1").filter(({ push }) => push.event === "huddle_ended").length === 2 ? true : undefined), 15_000, "the end's pushes");
    expect(await huddles.huddle("h1")).toMatchObject({ status: "ended", endReason: "empty", participants: {} });
    expect(await huddles.ofConversation("conv-1")).toBeUndefined();
    expect(await huddles.liveCount()).toBe(liveBefore);
    expect(await redis.pttl(keys.huddle("h1"))).toBeGreaterThan(0);

    const bobState = { userId: "bob", audio: true, video: false, screen: false, handRaised: false, joinedAt: T0 };
    const ended = { huddleId: "h1", event: "huddle_ended", reason: "empty", endedBy: null, durationMs: 5_000 };
    expect(ofHuddle("h1")).toEqual([
      { channel: "huddles:to-conversation:conv-1", push: { huddleId: "h1", event: "huddle_started", conversationId: "conv-1", startedBy: "alice" } },
      { channel: "huddles:to-user:dan", push: { huddleId: "h1", event: "huddle_invited", workspaceId: "w1", conversationId: "conv-1", invitedBy: "alice", title: null } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_joined", participant: { userId: "alice", audio: true, video: false, screen: false, handRaised: false, joinedAt: T0 } } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_joined", participant: { ...bobState, audio: false } } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_updated", participant: bobState, track: "audio" } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_updated", participant: { userId: "alice", audio: true, video: false, screen: true, handRaised: false, joinedAt: T0 }, track: "screen" } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_updated", participant: { ...bobState, handRaised: true }, track: "hand" } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_updated", participant: { ...bobState, handRaised: true, video: true }, track: "video" } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_left", userId: "bob", reason: "connection_lost", connectionId: "bob-c1" } },
      { channel: "huddles:to-huddle:h1", push: { huddleId: "h1", event: "participant_left", userId: "alice", reason: "left", connectionId: "alice-c1" } },
      { channel: "huddles:to-huddle:h1", push: ended },
      { channel: "huddles:to-conversation:conv-1", push: ended },
    ]);
  });

  it("pushes a standalone huddle's changes to the huddle only", async () => {
    await send(created("h2", "carol", null), joined("h2", "carol", "carol-c1"));
    await eventually(async () => (ofHuddle("h2").length === 1 ? true : undefined), 15_000, "the join's push");
    expect(ofHuddle("h2").map(({ channel, push }) => [channel, push.event])).toEqual([["huddles:to-huddle:h2", "participant_joined"]]);
    expect(await huddles.huddle("h2")).toMatchObject({ status: "live", conversationId: null });
  });

  it("comes out the same when rebuilt from the beginning, and goes on pushing what is new", async () => {
    const before = [await huddles.huddle("h1"), await huddles.huddle("h2"), await huddles.liveCount()];
    await projection?.close();
    await redis.hdel(keys.checkpoint, `${topic}:0`);
    projection = await startLiveHuddlesProjection({ config, codec, redis, logger });
    await send(created("h3", "dave", "conv-3"));
    await eventually(async () => (ofHuddle("h3").length > 0 ? true : undefined), 30_000, "the next huddle's push");
    // Pushes of what it caught up on are not asserted: the projection runtime counts a catch-up
    // batch that ends at the high watermark as live, and these events come without the commit
    // marker a processor's transaction would leave after them.
    expect([await huddles.huddle("h1"), await huddles.huddle("h2"), (await huddles.liveCount()) - 1]).toEqual(before);
    expect(await huddles.ofConversation("conv-3")).toMatchObject({ huddleId: "h3", status: "live" });
  });
});
