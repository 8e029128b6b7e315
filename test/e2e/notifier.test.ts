import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import { devicesStore } from "../../src/contexts/devices/module.js";
import type { NotificationCategory, RegisterDevice, RequestNotification } from "../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import { RecordProducer } from "../../src/infra/kafka/record-producer.js";
import { createMongoClient } from "../../src/infra/mongo/mongo-connection.js";
import { sleep } from "../../src/platform/sleep.js";
import type { ApnsStandIn } from "../support/apns-stand-in.js";
import type { FcmStandIn } from "../support/fcm-stand-in.js";
import { readTopic } from "../support/processor-harness.js";
import { apnsDeviceToken, fcmRegistrationToken, startPushStandIns, type PushStandIns } from "../support/push-stand-ins.js";
import { RoleCluster, type RoleProcess } from "../support/roles.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { TEST_JWT_SECRET } from "../support/tokens.js";

const prefix = uniquePrefix("notifier");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
const logger = testLogger();
const workspaceId = "w-notify";
let codec: AvroCodec;
let producer: RecordProducer;
let standIns: PushStandIns;
let apns: ApnsStandIn;
let fcm: FcmStandIn;
let cluster: RoleCluster;
let notifier: RoleProcess;
const mongo = createMongoClient(config.mongo.url);
const devices = devicesStore(mongo, prefix);

const meta = (actorId: string) => ({ commandId: randomUUID(), correlationId: randomUUID(), actorId, workspaceId, issuedAt: Date.now(), replyTo: null });

interface Phone {
  readonly deviceId: string;
  readonly token: string;
  readonly voipToken?: string;
}

/** Registers a device as its app would (through the devices context's command), and waits for the read model to show it. */
async function register(userId: string, platform: "ios" | "android", withVoip = false): Promise<Phone> {
  const phone: Phone = { deviceId: `${platform}-${randomBytes(3).toString("hex")}`, token: platform === "ios" ? apnsDeviceToken() : fcmRegistrationToken(), ...(withVoip ? { voipToken: apnsDeviceToken() } : {}) };
  const command: RegisterDevice = {
    meta: meta(userId),
    userId,
    deviceId: phone.deviceId,
    platform,
    pushChannel: platform === "ios" ? "apns" : "fcm",
    pushToken: phone.token,
    voipToken: phone.voipToken ?? null,
    name: null,
    model: null,
    osVersion: null,
    appVersion: "1.0.0",
    locale: "en",
  };
  await producer.send([{ topic: prefix + TOPICS.devices.commands, key: userId, fullName: "quikchat.devices.RegisterDevice", value: command }]);
  await eventually(async () => ((await devices.devicesOf(userId)).some((device) => device.deviceId === phone.deviceId) ? true : undefined), 30_000, `device ${phone.deviceId} in the read model`);
  return phone;
}

/** What notify-policy sends: a notification for `userId`. */
async function request(userId: string, category: NotificationCategory = "new_message", notificationId = randomUUID()): Promise<string> {
  const command: RequestNotification = {
    meta: meta("system:notify-policy"),
    userId,
    notificationId,
    category,
    title: "Alice",
    body: category === "incoming_call" ? "Incoming call" : "lunch?",
    data: {},
    conversationId: category === "incoming_call" ? null : "c1",
    messageId: null,
    callId: category === "incoming_call" ? `call-${notificationId}` : null,
    huddleId: null,
    priority: "high",
    collapseKey: null,
  };
  await producer.send([{ topic: prefix + TOPICS.notifications.commands, key: userId, fullName: "quikchat.notifications.RequestNotification", value: command }]);
  return notificationId;
}

const apnsTo = (token: string) => standIns.apnsTo(token);
const fcmTo = (token: string) => standIns.fcmTo(token);
const notificationIdOf = (data: unknown) => (data as { notificationId?: string } | undefined)?.notificationId;

/** The notifications events of `userId` so far. */
async function eventsOf(userId: string) {
  return (await readTopic(config, prefix + TOPICS.notifications.events, codec)).filter((record) => record.key === userId);
}

describe("the notifier: requested notifications reach each device once through APNs and FCM", () => {
  beforeAll(async () => {
    standIns = await startPushStandIns("notifier-test");
    ({ apns, fcm } = standIns);
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await producer.connect();
    await devices.ensureSchema();
    cluster = new RoleCluster({
      KAFKA_TOPIC_PREFIX: prefix,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "info",
      ...standIns.env,
      NOTIFY_RETRY_BASE_MS: "200",
      NOTIFY_MAX_ATTEMPTS: "3",
    });
    const [processor, projector] = await Promise.all([cluster.start("processor", "notify-proc"), cluster.start("projector", "notify-proj")]);
    notifier = await cluster.start("notifier", "notify-1");
    await Promise.all([cluster.ready(processor), cluster.ready(projector), cluster.ready(notifier)]);
  });

  afterAll(async () => {
    await cluster?.stopAll();
    await Promise.all([producer?.close(), standIns?.close(), mongo.close()]);
  });

  it("sends a message's notification once to the iPhone through APNs and once to the Android phone through FCM, and records both", async () => {
    const bob = `bob-${randomBytes(3).toString("hex")}`;
    const iphone = await register(bob, "ios");
    const pixel = await register(bob, "android");
    const id = await request(bob);

    await eventually(async () => (apnsTo(iphone.token).length > 0 && fcmTo(pixel.token).length > 0 ? true : undefined), 30_000, "both pushes");
    const [push] = apnsTo(iphone.token);
    expect(push).toMatchObject({ status: 200, topic: standIns.bundleId, pushType: "alert", priority: "10", payload: { aps: { alert: { title: "Alice", body: "lunch?" } }, notificationId: id, conversationId: "c1" } });
    expect(fcmTo(pixel.token)[0]).toMatchObject({ status: 200, message: { notification: { title: "Alice", body: "lunch?" }, android: { priority: "HIGH" }, data: { notificationId: id } } });

    const sent = await eventually(async () => {
      const events = (await eventsOf(bob)).filter((record) => record.fullName === "quikchat.notifications.NotificationSent");
      return events.length === 2 ? events : undefined;
    }, 30_000, "two NotificationSent");
    expect(sent.map((record) => [record.value?.deviceId, record.value?.provider]).sort()).toEqual([[iphone.deviceId, "apns"], [pixel.deviceId, "fcm"]].sort());
    await sleep(1_000);
    expect(apnsTo(iphone.token)).toHaveLength(1);
    expect(fcmTo(pixel.token)).toHaveLength(1);
  });

  it("rings an incoming call as a VoIP push on the iPhone's PushKit token and a high-priority data message on Android", async () => {
    const carol = `carol-${randomBytes(3).toString("hex")}`;
    const iphone = await register(carol, "ios", true);
    const pixel = await register(carol, "android");
    const id = await request(carol, "incoming_call");

    await eventually(async () => (apnsTo(iphone.voipToken!).length > 0 && fcmTo(pixel.token).length > 0 ? true : undefined), 30_000, "the call's pushes");
    expect(apnsTo(iphone.voipToken!)[0]).toMatchObject({ status: 200, topic: `${standIns.bundleId}.voip`, pushType: "voip", priority: "10", payload: { notificationId: id, callId: `call-${id}` } });
    expect(apnsTo(iphone.token)).toHaveLength(0);
    const android = fcmTo(pixel.token)[0]!.message!;
    expect(android).toMatchObject({ android: { priority: "HIGH" }, data: { notificationId: id, category: "incoming_call" } });
    expect(android).not.toHaveProperty("notification");
  });

  it("removes a device whose token APNs says is dead after one failed push, and records the failure", async () => {
    const dave = `dave-${randomBytes(3).toString("hex")}`;
    const iphone = await register(dave, "ios");
    apns.unregister(iphone.token, new Date(Date.now() + 60_000));
    await request(dave);

    await eventually(async () => ((await devices.devicesOf(dave)).length === 0 ? true : undefined), 30_000, "the dead device gone from the read model");
    expect(apnsTo(iphone.token)).toHaveLength(1);
    const failed = (await eventsOf(dave)).filter((record) => record.fullName === "quikchat.notifications.NotificationFailed");
    expect(failed.map((record) => record.value)).toEqual([expect.objectContaining({ deviceId: iphone.deviceId, provider: "apns", reason: "Unregistered", permanent: true })]);

    await request(dave);
    await sleep(2_000);
    expect(apnsTo(iphone.token)).toHaveLength(1);
  });

  it("delays through an FCM outage (503 with Retry-After) and delivers once when it recovers", async () => {
    const erin = `erin-${randomBytes(3).toString("hex")}`;
    const pixel = await register(erin, "android");
    for (let i = 0; i < 2; i += 1) fcm.answerNext(pixel.token, { status: 503, body: { error: { code: 503, status: "UNAVAILABLE", message: "The service is currently unavailable." } }, headers: { "retry-after": "1" } });
    const started = Date.now();
    const id = await request(erin);

    await eventually(async () => (fcmTo(pixel.token).some((sent) => sent.status === 200) ? true : undefined), 30_000, "the push after the outage");
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(fcmTo(pixel.token).map((sent) => sent.status)).toEqual([503, 503, 200]);
    const sent = await eventually(async () => {
      const events = (await eventsOf(erin)).filter((record) => record.fullName === "quikchat.notifications.NotificationSent");
      return events.length > 0 ? events : undefined;
    }, 30_000, "NotificationSent");
    expect(sent.map((record) => record.value?.notificationId)).toEqual([id]);
    await sleep(1_000);
    expect(fcmTo(pixel.token).filter((one) => one.status === 200)).toHaveLength(1);
  });

  it("gives a push up after its attempts, recording it failed with the reason and a dead letter, and keeps the device", async () => {
    const gina = `gina-${randomBytes(3).toString("hex")}`;
    const pixel = await register(gina, "android");
    for (let i = 0; i < 3; i += 1) fcm.answerNext(pixel.token, { status: 503, body: { error: { code: 503, status: "UNAVAILABLE", message: "The service is currently unavailable." } } });
    const id = await request(gina);

    const failed = await eventually(async () => {
      const events = (await eventsOf(gina)).filter((record) => record.fullName === "quikchat.notifications.NotificationFailed");
      return events.length > 0 ? events : undefined;
    }, 30_000, "NotificationFailed");
    expect(failed.map((record) => record.value)).toEqual([expect.objectContaining({ notificationId: id, deviceId: pixel.deviceId, provider: "fcm", reason: "UNAVAILABLE", permanent: false })]);
    expect(fcmTo(pixel.token).map((sent) => sent.status)).toEqual([503, 503, 503]);
    const letters = (await readTopic(config, prefix + TOPICS.notifications.dlq, codec)).filter((record) => record.key === gina);
    expect(letters.map((letter) => ({ fullName: letter.fullName, notificationId: letter.value?.notificationId, headers: letter.headers }))).toEqual([
      { fullName: "quikchat.notifications.NotificationRequested", notificationId: id, headers: expect.objectContaining({ error_code: "undeliverable", failure: "retries_exhausted", device_id: pixel.deviceId, error: "fcm: UNAVAILABLE" }) },
    ]);
    expect((await devices.devicesOf(gina)).map((device) => device.deviceId)).toEqual([pixel.deviceId]);
  });

  it("neither loses nor repeats a push when the notifier is killed mid-burst and restarted", async () => {
    const frank = `frank-${randomBytes(3).toString("hex")}`;
    const iphone = await register(frank, "ios");
    const pixel = await register(frank, "android");
    const ids = Array.from({ length: 150 }, (_, i) => `burst-${i}-${randomBytes(3).toString("hex")}`);
    await producer.send(
      ids.map((notificationId) => ({
        topic: prefix + TOPICS.notifications.commands,
        key: frank,
        fullName: "quikchat.notifications.RequestNotification",
        value: { meta: meta("system:notify-policy"), userId: frank, notificationId, category: "new_message", title: "Alice", body: notificationId, data: {}, conversationId: "c1", messageId: null, callId: null, huddleId: null, priority: "high", collapseKey: null } satisfies RequestNotification,
      })),
    );

    await eventually(async () => (apnsTo(iphone.token).length >= 10 ? true : undefined), 60_000, "the burst to start");
    await cluster.kill(notifier);
    const beforeKill = apnsTo(iphone.token).length;
    notifier = await cluster.ready(await cluster.start("notifier", "notify-2"));

    const apnsIds = () => apnsTo(iphone.token).map((push) => notificationIdOf(push.payload));
    const fcmIds = () => fcmTo(pixel.token).map((sent) => notificationIdOf(sent.message?.data));
    await eventually(async () => (new Set(apnsIds()).size === ids.length && new Set(fcmIds()).size === ids.length ? true : undefined), 120_000, "every notification on both devices");
    await sleep(2_000);
    expect(beforeKill).toBeLessThan(ids.length);
    // Nothing lost: every notification reached both devices. Nothing repeated, except what the
    // kill cut between the provider's answer and the ledger's write (at most the one push in
    // flight per device), which went again with the same apns-id and collapse id: the phone
    // replaces it rather than showing it twice.
    const repeated = (values: (string | undefined)[]) => ids.filter((id) => values.filter((value) => value === id).length > 1);
    expect(ids.filter((id) => !apnsIds().includes(id) || !fcmIds().includes(id))).toEqual([]);
    expect(repeated(apnsIds()).length).toBeLessThanOrEqual(1);
    expect(repeated(fcmIds()).length).toBeLessThanOrEqual(1);
    for (const id of repeated(apnsIds())) {
      const pushes = apnsTo(iphone.token).filter((push) => notificationIdOf(push.payload) === id);
      expect(new Set(pushes.map((push) => `${push.apnsId}/${push.collapseId}`)).size).toBe(1);
    }
    for (const id of repeated(fcmIds())) {
      const sends = fcmTo(pixel.token).filter((sent) => notificationIdOf(sent.message?.data) === id);
      expect(new Set(sends.map((sent) => JSON.stringify((sent.message?.android as { collapse_key?: string } | undefined)?.collapse_key))).size).toBe(1);
    }
    expect(apnsIds()).toHaveLength(ids.length + repeated(apnsIds()).length);
  });
});
