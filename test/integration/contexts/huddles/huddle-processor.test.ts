import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import { huddleProcessor } from "../../../../src/contexts/huddles/processor.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { CommandMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { startProcessor, type ProcessorHandle } from "../../../../src/platform/processor/processor-runtime.js";
import { HuddleCommands, huddleEvents, typeOf } from "../../../support/huddle-harness.js";
import { commandIdOf, processorDeps, ReplyListener } from "../../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";

const prefix = uniquePrefix("huddleproc");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const topics = { commands: prefix + TOPICS.huddles.commands, events: prefix + TOPICS.huddles.events, state: prefix + TOPICS.huddles.state };
const gateway = `gw-${randomBytes(4).toString("hex")}`;
/** Two participants at most; an empty huddle ends 800 ms after its last participant left. */
const OPTIONS = { maxParticipants: 2, emptyTimeoutMs: 800 };

const redis = createRedis(config.redis.url, logger, { name: "huddle-processor-test" });
const replies = new ReplyListener(config.redis.url, gateway, logger);
const registry = new Registry();
let codec: AvroCodec;
let producer: RecordProducer;
let processor: ProcessorHandle;

const { command, create, join, leave, send } = new HuddleCommands(topics.commands, () => producer, replies);
const eventsOf = (huddleId: string) => huddleEvents(config, topics.events, codec, huddleId);

describe("the huddles processor against Kafka", () => {
  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await replies.start();
    processor = await startProcessor(huddleProcessor(OPTIONS), processorDeps(config, { codec, redis, logger, registry }), {
      sessionTimeoutMs: 6_000,
      transactionTimeoutMs: 5_000,
    });
    await eventually(() => Promise.resolve(processor.assignment().length > 0 ? true : undefined), 30_000, "partitions assigned");
  });

  afterAll(async () => {
    await processor?.close();
    await Promise.all([producer?.close(), replies.close()]);
    redis.disconnect();
  });

  it("decides a standalone huddle: invitees only, the cap, one screen at a time, each event once", async () => {
    const huddle = "h-standalone";
    expect(await send(create("alice", huddle, ["bob"]))).toMatchObject({ ok: true, result: { huddleId: huddle } });
    const bobJoins = join("bob", huddle);
    expect(await send(bobJoins)).toMatchObject({ ok: true, result: { huddleId: huddle } });
    expect(await send(join("carol", huddle))).toMatchObject({ ok: false, error: { code: "not_a_member" } });
    expect(await send(command("bob", huddle, "InviteToHuddle", { userIds: ["carol"] }))).toMatchObject({ ok: true });
    expect(await send(join("carol", huddle))).toMatchObject({ ok: false, error: { code: "huddle_full", message: expect.stringMatching(/2 participants/) } });

    expect(await send(command("bob", huddle, "ToggleScreenShare", { sharing: true }))).toMatchObject({ ok: true });
    const takeOver = command("alice", huddle, "ToggleScreenShare", { sharing: true });
    expect(await send(takeOver)).toMatchObject({ ok: true });
    // A redelivery of the same command gets the same answer and writes nothing again.
    await producer.send([takeOver, bobJoins]);
    expect((await replies.of(commandIdOf(takeOver), 2)).map((outcome) => outcome.ok)).toEqual([true, true]);
    await replies.of(commandIdOf(bobJoins), 2);

    const events = await eventsOf(huddle);
    expect(events.map((event) => [typeOf(event), event.value?.userId ?? event.value?.userIds ?? null, event.value?.sharing ?? null])).toEqual([
      ["HuddleCreated", null, null],
      ["HuddleParticipantsInvited", ["bob"], null],
      ["HuddleParticipantJoined", "alice", null],
      ["HuddleParticipantJoined", "bob", null],
      ["HuddleParticipantsInvited", ["carol"], null],
      ["ScreenShareToggled", "bob", true],
      ["ScreenShareToggled", "bob", false],
      ["ScreenShareToggled", "alice", true],
    ]);
    expect(events[3]!.value).toMatchObject({ muted: true, videoEnabled: false, connectionId: "bob-c1" });
    expect(new Set(events.map((event) => event.partition)).size).toBe(1);
  });

  it("removes a lost connection's participant, then ends the empty huddle by its timer, once", async () => {
    const huddle = "h-empty";
    expect(await send(create("alice", huddle, [], "conv-1"))).toMatchObject({ ok: true });
    expect(await send(join("bob", huddle, "bob-c1", true))).toMatchObject({ ok: true });
    // bob reconnected on another connection: the old one's loss leaves him in.
    expect(await send(join("bob", huddle, "bob-c2", true))).toMatchObject({ ok: true });
    expect(await send(leave("system:presence", huddle, { userId: "bob", connectionId: "bob-c1", reason: "connection_lost" }))).toMatchObject({ ok: true });
    expect(await send(leave("system:presence", huddle, { userId: "bob", connectionId: "bob-c2", reason: "connection_lost" }))).toMatchObject({ ok: true });
    const last = leave("alice", huddle);
    expect(await send(last)).toMatchObject({ ok: true });

    const events = await eventually(
      async () => {
        const found = await eventsOf(huddle);
        return found.some((event) => typeOf(event) === "HuddleEnded") ? found : undefined;
      },
      30_000,
      "the empty huddle's end",
    );
    expect(events.map((event) => [typeOf(event), event.value?.userId ?? null, event.value?.reason ?? null])).toEqual([
      ["HuddleCreated", null, null],
      ["HuddleParticipantJoined", "alice", null],
      ["HuddleParticipantJoined", "bob", null],
      ["HuddleParticipantLeft", "bob", "moved"],
      ["HuddleParticipantJoined", "bob", null],
      ["HuddleParticipantLeft", "bob", "connection_lost"],
      ["HuddleParticipantLeft", "alice", "left"],
      ["HuddleEnded", null, "empty"],
    ]);
    const deadline = (last.value as { meta: CommandMeta }).meta.issuedAt + OPTIONS.emptyTimeoutMs;
    expect(events[6]!.value).toMatchObject({ emptyExpiresAt: deadline });
    expect(events[7]!.value).toMatchObject({
      endedBy: null,
      meta: { actorId: "system:timer", occurredAt: deadline, causationId: `timer:${huddle}:ExpireEmptyHuddle:${deadline}` },
    });
    expect(await send(join("bob", huddle, "bob-c3", true))).toMatchObject({ ok: false, error: { code: "conflict" } });
  });

  it("is ended by its creator only", async () => {
    const huddle = "h-end";
    expect(await send(create("alice", huddle, ["bob"]))).toMatchObject({ ok: true });
    expect(await send(join("bob", huddle))).toMatchObject({ ok: true });
    expect(await send(command("bob", huddle, "EndHuddle"))).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect(await send(command("mallory", huddle, "EndHuddle"))).toMatchObject({ ok: false, error: { code: "not_a_member" } });
    expect(await send(command("alice", huddle, "EndHuddle"))).toMatchObject({ ok: true });
    const events = await eventsOf(huddle);
    expect(events.map(typeOf).at(-1)).toBe("HuddleEnded");
    expect(events.at(-1)!.value).toMatchObject({ reason: "ended", endedBy: "alice" });
    expect(events.filter((event) => typeOf(event) === "HuddleEnded")).toHaveLength(1);
  });
});
