import { randomBytes, randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../../src/cli/bootstrap.js";
import { devicesStore } from "../../../../src/contexts/devices/module.js";
import { devicesProcessor } from "../../../../src/contexts/devices/processor.js";
import { startDevicesProjection } from "../../../../src/contexts/devices/projections/devices/devices-projection.js";
import type { MongoDevicesStore } from "../../../../src/contexts/devices/projections/devices/mongo-devices-store.js";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { RecordProducer, type OutgoingRecord } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { CommandMeta, DevicesCommand } from "../../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../../src/platform/contract/topics.js";
import { startProcessor, type ProcessorHandle } from "../../../../src/platform/processor/processor-runtime.js";
import type { ProjectionRuntime } from "../../../../src/platform/projection/projection-runtime.js";
import { commandIdOf, processorDeps, readTopic, ReplyListener } from "../../../support/processor-harness.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";

const prefix = uniquePrefix("devicesproc");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const topics = { commands: prefix + TOPICS.devices.commands, events: prefix + TOPICS.devices.events };
const gateway = `gw-${randomBytes(4).toString("hex")}`;
const APNS = "ab".repeat(32);
const APNS_2 = "cd".repeat(32);
const VOIP = "ef".repeat(32);
const FCM = (n: number | string) => `fcm-${n}:APA91b${"Q".repeat(120)}`;

const redis = createRedis(config.redis.url, logger, { name: "devices-processor-test" });
const replies = new ReplyListener(config.redis.url, gateway, logger);
const mongo = new MongoClient(config.mongo.url);
let codec: AvroCodec;
let producer: RecordProducer;
let processor: ProcessorHandle;
let projection: ProjectionRuntime;
let store: MongoDevicesStore;
let clock = Date.now();

/** A devices command as a gateway (or the notifier) sends it, answered on this test's reply channel. */
function command(userId: string, type: DevicesCommand["type"], fields: Record<string, unknown>, actorId = userId): OutgoingRecord {
  clock += 1;
  const meta: CommandMeta = { commandId: randomUUID(), correlationId: randomUUID(), actorId, workspaceId: "w1", issuedAt: clock, replyTo: gateway };
  return { topic: topics.commands, key: userId, fullName: `quikchat.devices.${type}`, value: { meta, userId, ...fields } };
}
const details = { name: null, model: null, osVersion: null, appVersion: null, locale: null };
const register = (userId: string, deviceId: string, fields: Record<string, unknown>) =>
  command(userId, "RegisterDevice", { deviceId, platform: "ios", pushChannel: "apns", pushToken: null, voipToken: null, ...details, ...fields });

async function send(record: OutgoingRecord) {
  await producer.send([record]);
  return (await replies.of(commandIdOf(record)))[0];
}

/** The user's devices once the read model shows `ids` (in registration order). */
const devicesShowing = (userId: string, ids: string[]) =>
  eventually(async () => {
    const devices = await store.devicesOf(userId);
    return devices.map((device) => device.deviceId).join() === ids.join() ? devices : undefined;
  }, 20_000, `${userId}'s devices ${ids.join()}`);

describe("the devices processor and read model against Kafka and MongoDB", () => {
  beforeAll(async () => {
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await replies.start();
    await mongo.connect();
    store = devicesStore(mongo, prefix);
    processor = await startProcessor(devicesProcessor(), processorDeps(config, { codec, redis, logger, registry: new Registry() }), { sessionTimeoutMs: 6_000, transactionTimeoutMs: 5_000 });
    projection = await startDevicesProjection({ config, codec, store: devicesStore(mongo, prefix), logger });
    await eventually(() => Promise.resolve(processor.assignment().length > 0 ? true : undefined), 30_000, "partitions assigned");
  });

  afterAll(async () => {
    await projection?.close();
    await processor?.close();
    await store?.clear();
    await Promise.all([producer?.close(), replies.close(), mongo.close()]);
    redis.disconnect();
  });

  it("registers an iPhone's two tokens, updates one, and shows the device as the notifier needs it", async () => {
    expect(await send(register("alice", "iphone", { pushToken: APNS, appVersion: "3.2", locale: "de-DE" }))).toMatchObject({
      ok: true,
      result: { userId: "alice", deviceId: "iphone", device: { pushToken: APNS, voipToken: null }, removed: [] },
    });
    expect(await send(register("alice", "iphone", { voipToken: VOIP }))).toMatchObject({ ok: true, result: { device: { pushToken: APNS, voipToken: VOIP, locale: "de-DE" } } });
    expect(await send(register("alice", "pixel", { platform: "android", pushChannel: "fcm", pushToken: FCM("p") }))).toMatchObject({ ok: true });
    expect(await send(command("alice", "UpdateDeviceToken", { deviceId: "iphone", pushToken: APNS_2, voipToken: null }))).toMatchObject({
      ok: true,
      result: { device: { pushToken: APNS_2, voipToken: VOIP } },
    });
    expect(await send(command("alice", "DeviceHeartbeat", { deviceId: "pixel" }))).toMatchObject({ ok: true });
    expect(await send(command("alice", "UpdateDeviceToken", { deviceId: "nope", pushToken: APNS, voipToken: null }))).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(await send(register("alice", "bad", { pushToken: "xyz" }))).toMatchObject({ ok: false, error: { code: "invalid" } });

    const [iphone, pixel] = await eventually(async () => {
      const devices = await store.devicesOf("alice");
      return devices.length === 2 && devices[0]!.pushToken === APNS_2 && devices[1]!.lastSeenAt > devices[1]!.registeredAt ? devices : undefined;
    }, 20_000, "alice's two devices, updated");
    expect(iphone).toMatchObject({ deviceId: "iphone", platform: "ios", pushChannel: "apns", pushToken: APNS_2, voipToken: VOIP, appVersion: "3.2", locale: "de-DE" });
    expect(iphone!.pushTokenAt).toBeGreaterThan(iphone!.voipTokenAt!);
    expect(iphone!.voipTokenAt).toBeGreaterThan(iphone!.registeredAt);
    expect(pixel).toMatchObject({ deviceId: "pixel", platform: "android", pushChannel: "fcm", pushToken: FCM("p"), voipToken: null });
    expect((await store.devicesOfUsers(["alice", "nobody"])).get("nobody")).toEqual([]);
  });

  it("drops a dead token the notifier reports, and not a token updated since", async () => {
    await send(register("bob", "phone", { pushToken: APNS, voipToken: VOIP }));
    const stale = command("bob", "UnregisterDevice", { deviceId: "phone", reason: "token_invalid", failedToken: "00".repeat(32) }, "system:notifier");
    expect(await send(stale)).toMatchObject({ ok: true, result: { device: { pushToken: APNS }, removed: [] } });
    expect(await send(command("bob", "UnregisterDevice", { deviceId: "phone", reason: "token_invalid", failedToken: VOIP }, "system:notifier"))).toMatchObject({
      ok: true,
      result: { device: { pushToken: APNS, voipToken: null } },
    });
    expect(await send(command("bob", "UnregisterDevice", { deviceId: "phone", reason: "token_invalid", failedToken: APNS }, "system:notifier"))).toMatchObject({
      ok: true,
      result: { device: null, removed: [{ deviceId: "phone", reason: "token_invalid" }] },
    });
    await devicesShowing("bob", []);
  });

  it("evicts the least recently seen device for an eleventh, and keeps ten", async () => {
    for (let n = 0; n < 10; n += 1) expect(await send(register("carol", `d${n}`, { platform: "android", pushChannel: "fcm", pushToken: FCM(n) }))).toMatchObject({ ok: true });
    await send(command("carol", "DeviceHeartbeat", { deviceId: "d0" }));
    expect(await send(register("carol", "d10", { platform: "android", pushChannel: "fcm", pushToken: FCM(10) }))).toMatchObject({
      ok: true,
      result: { removed: [{ deviceId: "d1", reason: "evicted" }] },
    });
    await devicesShowing("carol", ["d0", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10"]);
    const events = (await readTopic(config, topics.events, codec)).filter((record) => record.key === "carol");
    expect(events.filter((record) => record.fullName === "quikchat.devices.DeviceUnregistered").map((record) => record.value)).toEqual([
      expect.objectContaining({ deviceId: "d1", reason: "evicted" }),
    ]);
  });
});
