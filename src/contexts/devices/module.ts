import type { MongoClient } from "mongodb";
import { tablePrefixOf } from "../../infra/mysql/mysql-pool.js";
import { defineContext } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { DEVICES, type DeviceView } from "./ports.js";
import { devicesProcessor } from "./processor.js";
import { deviceRoutes } from "./routes.js";
import { startDevicesProjection } from "./projections/devices/devices-projection.js";
import { DEVICES_PROJECTION, MongoDevicesStore } from "./projections/devices/mongo-devices-store.js";

/** The devices read model over the process's MongoDB client (which it does not close). */
export const devicesStore = (mongo: MongoClient, topicPrefix: string) => new MongoDevicesStore(mongo.db(), tablePrefixOf(topicPrefix));

/** A token as an operator's screen shows it: enough to tell two apart, not enough to push with. */
const shortened = (token: string | null) => (token === null ? null : `${token.slice(0, 8)}…`);
const withTokensShortened = (device: DeviceView) => ({ ...device, pushToken: shortened(device.pushToken), voipToken: shortened(device.voipToken) });

/**
 * Devices: one aggregate per user holding their registered devices and push tokens
 * (`quikapp.devices.*`, at most ten devices, the least recently seen evicted by an eleventh);
 * the `devices` read model in MongoDB, which the notifier reads for push targets
 * ({@link DEVICES}); the caller's own devices over REST (`/api/devices`).
 */
export const devices = defineContext({
  name: "devices",
  dependencies: () => ["mongo"],
  processors: () => [devicesProcessor()],
  projections: (kit) => {
    const { config, codec, logger, metrics } = kit;
    const prefix = config.kafka.topicPrefix;
    return [
      {
        name: DEVICES_PROJECTION,
        topic: TOPICS.devices.events,
        store: () => devicesStore(kit.mongo, prefix),
        start: () => startDevicesProjection({ config, codec, store: devicesStore(kit.mongo, prefix), logger, metrics }),
      },
    ];
  },
  gateway: async (kit) => {
    const store = devicesStore(kit.mongo, kit.config.kafka.topicPrefix);
    await store.ensureSchema();
    kit.ports.provide(DEVICES, store);
    const { bus, authenticate, rateLimiter } = kit;
    return {
      routes: async (app) => {
        await app.register(deviceRoutes, { devices: store, bus, authenticate, rateLimiter });
      },
      lookups: [{ id: "user-devices", title: "A user's devices", keyName: "user id", read: async (userId) => (await store.devicesOf(userId)).map(withTokensShortened) }],
    };
  },
});
