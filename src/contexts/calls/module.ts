import type { Logger } from "../../infra/log/logger.js";
import { LOCAL_COTURN, LOCAL_S3PROXY, coturnSecret } from "../../infra/stack/stack.js";
import type { CoreConfig } from "../../platform/config/core-config.js";
import { defineContext } from "../../platform/context-module.js";
import { callsConfig, type CallsSettings } from "./config.js";
import type { IceServers } from "./ice-servers.js";
import { callRoutes, signalingRoutes } from "./routes.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { MEMBERSHIP } from "../conversations/ports.js";
import { CallActions } from "./channels/call-actions.js";
import { SIGNAL_EVENTS, callFamily, callsUserPart, lobbyFamily } from "./channels/call-channels.js";
import { liveCallGauges } from "./metrics.js";
import { callProcessor } from "./processor.js";
import { startLiveCallsProjection } from "./projections/live-calls/live-calls-projection.js";
import { LiveCallsReadModel } from "./projections/live-calls/live-calls-read-model.js";
import { LIVE_CALLS_PROJECTION, RedisLiveCallsStore } from "./projections/live-calls/redis-live-calls-store.js";
import { SIGNAL_RELAY, callSignalRoute, signalRelayStore, startSignalRelay } from "./projections/signal-relay/signal-relay.js";
import { MongoRecordingsStore } from "./projections/recordings/mongo-recordings-store.js";
import { RECORDINGS_PROJECTION } from "./projections/recordings/recording-changes.js";
import { startRecordingsProjection } from "./projections/recordings/recordings-projection.js";
import { recordingRoutes } from "./recording-routes.js";
import { openS3ObjectStore } from "../../infra/s3/s3-object-store.js";
import { s3StoreOptions } from "../../infra/s3/s3-store-options.js";
import { tablePrefixOf } from "../../infra/mysql/mysql-pool.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { ObjectStore } from "../../platform/storage/object-store.js";
import type { MongoClient } from "mongodb";

/** The local stack's coturn as clients reach it: STUN and TURN on one port, TURN over UDP or TCP. */
const LOCAL_TURN_URIS = ["udp", "tcp"].map((transport) => `turn:${LOCAL_COTURN.host}:${LOCAL_COTURN.port}?transport=${transport}`);
const LOCAL_STUN_URIS = [`stun:${LOCAL_COTURN.host}:${LOCAL_COTURN.port}`];

/**
 * The ICE servers of these settings. The local stack's coturn is read from the stack's folder,
 * where its secret is kept: a stack this process brought up (QUIKCHAT_STACK=auto) must have one;
 * with the stack off and no coturn ever started there, clients get no TURN server.
 */
async function iceServersOf(settings: CallsSettings, stack: CoreConfig["stack"], logger: Logger): Promise<IceServers> {
  const { turn, stunServers, ttlSeconds } = settings;
  if (turn.kind !== "stack") return { stun: stunServers, turn, ttlSeconds };
  let secret: string;
  try {
    secret = await coturnSecret(stack.dir, LOCAL_COTURN.port);
  } catch (error) {
    if (stack.mode === "auto") throw error;
    logger.warn({ err: error }, "calls: no TURN server for clients (set TURN_SERVERS and TURN_SECRET)");
    return { stun: stunServers, turn: { kind: "none" }, ttlSeconds };
  }
  return { stun: stunServers.length > 0 ? stunServers : LOCAL_STUN_URIS, turn: { kind: "secret", servers: LOCAL_TURN_URIS, secret }, ttlSeconds };
}

/** The recordings read model over the process's MongoDB client (which it does not close). */
const recordingsStore = (mongo: MongoClient, topicPrefix: string) => new MongoRecordingsStore(mongo.db(), tablePrefixOf(topicPrefix));

/**
 * The recordings' object store, opened on first use rather than at start (a gateway serves calls
 * while the store is down), and again after a failed open, which answers `unavailable`.
 */
function recordingStorage(settings: CallsSettings, stack: CoreConfig["stack"], logger: Logger): { open(): Promise<ObjectStore>; close(): Promise<void> } {
  let opening: Promise<ObjectStore> | undefined;
  return {
    open() {
      opening ??= s3StoreOptions(settings.recordings, stack.dir)
        .then(openS3ObjectStore)
        .catch((error: unknown) => {
          opening = undefined;
          logger.error({ err: error }, "calls: the recordings' storage cannot be reached");
          throw new ServiceError("unavailable", "the recordings' storage cannot be reached; retry", { cause: error });
        });
      return opening;
    },
    async close() {
      const store = await opening?.catch(() => undefined);
      await store?.close();
    },
  };
}

/**
 * Calls: one aggregate per call with its signals (`quikapp.calls.*`, `quikapp.signaling.*`) and
 * its ringing and maximum-duration timers; the `live-calls` read model in Redis, which pushes the
 * calls' changes to users' sockets, and the `signal-relay`, which delivers signals;
 * `webrtc:lobby`, `call:{callId}` and the calls' part of `user:{userId}`; the ICE servers a
 * caller's WebRTC peers use (`/api/signaling/ice-config`, `/api/signaling/turn-credentials`,
 * credentials in coturn's REST-API scheme) and, with no TURN server configured, the local
 * stack's coturn; one call over REST (`/api/calls/:call_id/…`: invite, participants, ICE servers,
 * recording start, stop and status); recordings: their metadata in MongoDB (the `recordings` read
 * model), their media in S3-compatible storage (the local stack's S3Proxy unless S3_ENDPOINT is
 * set), and `/api/recordings`.
 */
export const calls = defineContext({
  name: "calls",
  config: callsConfig,
  dependencies: () => ["mongo"],
  localServers: (settings) => ({
    ...(settings.turn.kind === "stack" ? { coturn: LOCAL_COTURN } : {}),
    ...(settings.recordings.target.kind === "stack" ? { s3proxy: LOCAL_S3PROXY } : {}),
  }),
  rateLimits: (settings) => [{ name: "signals", perMinute: settings.signalsPerMinute, events: SIGNAL_EVENTS }],
  processors: (settings) => [callProcessor({ ringingTimeoutMs: settings.ringingTimeoutMs, maxDurationMs: settings.maxDurationMs })],
  projections: (kit) => {
    const { config, codec, redis, logger, metrics, registry } = kit;
    const prefix = config.kafka.topicPrefix;
    const deps = { config, codec, redis, logger, metrics, registry };
    return [
      {
        name: LIVE_CALLS_PROJECTION,
        topic: TOPICS.calls.events,
        store: () => new RedisLiveCallsStore(kit.redisConnection("live-calls-store"), prefix),
        start: () => startLiveCallsProjection(deps),
      },
      {
        name: SIGNAL_RELAY,
        topic: TOPICS.signaling.events,
        store: () => signalRelayStore(kit.redisConnection("signal-relay-store"), callSignalRoute(prefix)),
        start: () => startSignalRelay(deps, callSignalRoute(prefix)),
      },
      {
        name: RECORDINGS_PROJECTION,
        topic: TOPICS.calls.events,
        store: () => recordingsStore(kit.mongo, prefix),
        start: () => startRecordingsProjection({ config, codec, store: recordingsStore(kit.mongo, prefix), logger, metrics }),
      },
    ];
  },
  gateway: async (kit, settings) => {
    const ice = await iceServersOf(settings, kit.config.stack, kit.logger);
    kit.logger.info({ stun: ice.stun, turn: ice.turn.kind === "none" ? [] : ice.turn.servers, credentials: ice.turn.kind }, "calls: ICE servers");
    const topicPrefix = kit.config.kafka.topicPrefix;
    const liveCalls = new LiveCallsReadModel(kit.redis, topicPrefix);
    liveCallGauges(kit.registry, liveCalls);
    const actions = new CallActions({ bus: kit.bus, calls: liveCalls, redis: kit.redis, topicPrefix, ice, membership: () => kit.ports.find(MEMBERSHIP) });
    const channels = { actions, calls: liveCalls, hub: kit.hub, topicPrefix, logger: kit.logger };
    const recordings = recordingsStore(kit.mongo, topicPrefix);
    await recordings.ensureSchema();
    const storage = recordingStorage(settings, kit.config.stack, kit.logger);
    return {
      families: [lobbyFamily(channels), callFamily(channels)],
      userChannel: callsUserPart(channels),
      lookups: [{ id: "call", title: "A call", keyName: "call id", read: async (callId) => (await liveCalls.call(callId)) ?? null }],
      stats: async () => ({ active_calls: await liveCalls.activeCalls() }),
      routes: async (app) => {
        await app.register(signalingRoutes, { ice, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
        const { authenticate, rateLimiter, bus } = kit;
        await app.register(callRoutes, { actions, authenticate, rateLimiter });
        await app.register(recordingRoutes, { recordings, objectStore: () => storage.open(), bus, maxBytes: settings.recordings.maxBytes, authenticate, rateLimiter });
      },
      close: () => storage.close(),
    };
  },
});
