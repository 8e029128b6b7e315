import { MongoServerError, type Collection, type Db } from "mongodb";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { MongoCheckpoints } from "../../../../infra/mongo/mongo-checkpoints.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { DevicesEvent } from "../../../../platform/contract/generated/avro-types.js";
import type { RebuildableSink } from "../../../../platform/projection/rebuild.js";
import { evolve, type Device, type DevicesState } from "../../domain/state.js";
import type { DevicesReadModel, DeviceView } from "../../ports.js";

/** The projection's name: its consumer group, its checkpoints, its name in `quikchat projections`. */
export const DEVICES_PROJECTION = "devices";

interface UserDevicesDocument {
  /** The user id. */
  _id: string;
  /** Registration order. */
  devices: Device[];
  /** Offset of the last event applied to this user (all of a user's events share one partition). */
  version: number;
}

/** MongoDB's code for a duplicate key. */
const DUPLICATE_KEY = 11000;

/**
 * The devices read model in MongoDB: collection `<prefix>devices`, one document per user holding
 * their devices, and the projection's checkpoints in `<prefix>projection_checkpoints`
 * (`{_id: "devices:<topic>:<partition>"}`, beside the others').
 *
 * A user's document is the devices aggregate's own state folded by the domain's `evolve` (the
 * read model cannot drift from what the processor decides), with the offset of the last event
 * folded into it. Without multi-document transactions (the local mongo-java-server has none),
 * each write is conditioned on the version it was folded from: events at or below a document's
 * version are skipped, so replaying records (a crash between the writes and the checkpoint, a
 * rebalance) changes nothing; a write that finds the document moved on by another consumer is
 * dropped (that consumer folded the same events). The client is the caller's: `close` leaves it open.
 */
export class MongoDevicesStore implements RebuildableSink, DevicesReadModel {
  private readonly users: Collection<UserDevicesDocument>;
  private readonly checkpointStore: MongoCheckpoints;

  constructor(db: Db, collectionPrefix = "") {
    this.users = db.collection<UserDevicesDocument>(`${collectionPrefix}devices`);
    this.checkpointStore = new MongoCheckpoints(db, collectionPrefix, DEVICES_PROJECTION);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointStore.ensureSchema();
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointStore.of(topic);
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return this.checkpointStore.applyFresh(topic, partition, records, async (fresh) => {
      const byUser = new Map<string, { event: DevicesEvent; offset: number }[]>();
      for (const record of fresh) {
        const event = eventOf(record, "devices");
        if (event === undefined) continue;
        const events = byUser.get(event.data.userId) ?? [];
        events.push({ event, offset: record.offset });
        byUser.set(event.data.userId, events);
      }
      await Promise.all([...byUser].map(([userId, events]) => this.fold(userId, events)));
    });
  }

  private async fold(userId: string, events: readonly { event: DevicesEvent; offset: number }[]): Promise<void> {
    const before = await this.users.findOne({ _id: userId });
    const from = before?.version ?? -1;
    const news = events.filter(({ offset }) => offset > from);
    const last = news[news.length - 1];
    if (last === undefined) return;
    const start: DevicesState = { devices: Object.fromEntries((before?.devices ?? []).map((device) => [device.deviceId, device])) };
    const after = news.reduce((state, { event }) => evolve(state, event), start);
    const document: UserDevicesDocument = { _id: userId, devices: inRegistrationOrder(Object.values(after.devices)), version: last.offset };
    if (before === null) {
      await this.users.insertOne(document).catch((error: unknown) => {
        if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
      });
      return;
    }
    await this.users.replaceOne({ _id: userId, version: before.version }, document);
  }

  async devicesOf(userId: string): Promise<DeviceView[]> {
    const document = await this.users.findOne({ _id: userId });
    return (document?.devices ?? []).map(viewOf);
  }

  async devicesOfUsers(userIds: readonly string[]): Promise<Map<string, DeviceView[]>> {
    const found = new Map<string, DeviceView[]>(userIds.map((userId) => [userId, []]));
    if (userIds.length === 0) return found;
    for (const document of await this.users.find({ _id: { $in: [...new Set(userIds)] } }).toArray()) found.set(document._id, document.devices.map(viewOf));
    return found;
  }

  async clear(): Promise<void> {
    // Checkpoints first: should the delete fail, replay from the start repairs the read model.
    await this.checkpointStore.clear();
    await this.users.deleteMany({});
  }

  async close(): Promise<void> {
    // The client is shared with other adapters and closed by the composition root.
  }
}

function inRegistrationOrder(devices: Device[]): Device[] {
  return devices.sort((a, b) => a.registeredAt - b.registeredAt || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}

function viewOf(device: Device): DeviceView {
  const { deviceId, platform, pushChannel, pushToken, voipToken, name, model, osVersion, appVersion, locale, registeredAt, lastSeenAt, pushTokenAt, voipTokenAt } = device;
  // The decider admits no other service for a device.
  const channel = pushChannel === "apns" || pushChannel === "fcm" ? pushChannel : null;
  return { deviceId, platform, pushChannel: channel, pushToken, voipToken, name, model, osVersion, appVersion, locale, registeredAt, lastSeenAt, pushTokenAt, voipTokenAt };
}
