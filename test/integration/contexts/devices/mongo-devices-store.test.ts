import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEVICES_PROJECTION, MongoDevicesStore } from "../../../../src/contexts/devices/projections/devices/mongo-devices-store.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import { tablePrefixOf } from "../../../../src/infra/mysql/mysql-pool.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";

const config = testConfig();
const prefix = tablePrefixOf(uniquePrefix("devices-store"));
const TOPIC = "quikapp.devices.events";
const T0 = 1_700_000_000_000;
const APNS = "ab".repeat(32);
const APNS_2 = "cd".repeat(32);
const FCM = `fcm:APA91b${"Z".repeat(100)}`;
const details = { name: null, model: null, osVersion: null, appVersion: null, locale: null };

/** Records of one partition, at consecutive offsets from 0. */
function partitionOf(...events: [type: string, at: number, data: { userId: string; deviceId: string; actorId?: string } & Record<string, unknown>][]): ConsumedRecord[] {
  return events.map(([type, at, data], offset) => {
    const { actorId = data.userId, ...fields } = data;
    const meta: EventMeta = { eventId: `e-${offset}`, occurredAt: at, correlationId: "c", causationId: null, actorId, workspaceId: "w1" };
    return { topic: TOPIC, partition: 0, offset, key: fields.userId, timestamp: at, headers: {}, fullName: `quikchat.devices.${type}`, value: { meta, ...fields } };
  });
}

const ios = { platform: "ios", pushChannel: "apns", voipToken: null, ...details };
const records = partitionOf(
  ["DeviceRegistered", T0, { userId: "alice", deviceId: "iphone", ...ios, pushToken: APNS }],
  ["DeviceRegistered", T0 + 1, { userId: "alice", deviceId: "pixel", ...details, platform: "android", pushChannel: "fcm", pushToken: FCM, voipToken: null }],
  ["DeviceHeartbeatRecorded", T0 + 10, { userId: "alice", deviceId: "pixel" }],
  ["DeviceTokenUpdated", T0 + 20, { userId: "alice", deviceId: "iphone", pushToken: APNS_2, voipToken: null }],
  ["DeviceRegistered", T0 + 30, { userId: "bob", deviceId: "web", ...details, platform: "web", pushChannel: null, pushToken: null, voipToken: null }],
  // The notifier dropping a dead token does not count as the device being seen.
  ["DeviceTokenUpdated", T0 + 40, { userId: "alice", deviceId: "iphone", actorId: "system:notifier", pushToken: APNS_2, voipToken: null }],
  ["DeviceUnregistered", T0 + 50, { userId: "bob", deviceId: "web", reason: "user_request" }],
);

describe("the devices read model in MongoDB", () => {
  const client = new MongoClient(config.mongo.url);
  let store: MongoDevicesStore;

  beforeAll(async () => {
    await client.connect();
    store = new MongoDevicesStore(client.db(), prefix);
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store.clear();
    await client.close();
  });

  const everything = () => client.db().collection(`${prefix}devices`).find({}).sort({ _id: 1 }).toArray();

  it("folds each user's devices with their tokens and sightings", async () => {
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await store.checkpoints(TOPIC)).toEqual(new Map([[0, records.length]]));
    expect(await store.devicesOf("alice")).toEqual([
      { deviceId: "iphone", ...ios, pushToken: APNS_2, registeredAt: T0, lastSeenAt: T0 + 20, pushTokenAt: T0 + 20, voipTokenAt: null },
      { deviceId: "pixel", ...details, platform: "android", pushChannel: "fcm", pushToken: FCM, voipToken: null, registeredAt: T0 + 1, lastSeenAt: T0 + 10, pushTokenAt: T0 + 1, voipTokenAt: null },
    ]);
    expect(await store.devicesOf("bob")).toEqual([]);
    const both = await store.devicesOfUsers(["alice", "bob", "carol"]);
    expect([...both].map(([userId, devices]) => [userId, devices.length])).toEqual([["alice", 2], ["bob", 0], ["carol", 0]]);
  });

  it("changes nothing when the same records are applied again, below or above the checkpoint", async () => {
    const before = await everything();
    expect(await store.apply(TOPIC, 0, records)).toEqual([]);
    // A crash between the writes and the checkpoint: the records are applied a second time.
    await client.db().collection(`${prefix}projection_checkpoints`).deleteOne({ _id: `${DEVICES_PROJECTION}:${TOPIC}:0` } as never);
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await everything()).toEqual(before);
  });

  it("is rebuilt the same from the beginning after a clear", async () => {
    const before = await everything();
    await store.clear();
    expect(await store.checkpoints(TOPIC)).toEqual(new Map());
    expect(await store.devicesOf("alice")).toEqual([]);
    for (let at = 0; at < records.length; at += 3) await store.apply(TOPIC, 0, records.slice(at, at + 3));
    expect(await everything()).toEqual(before);
  });
});
