import type { MongoClient } from "mongodb";
import { tablePrefixOf } from "../../infra/mysql/mysql-pool.js";
import { defineContext } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { CONVERSATION_TOPIC_PARTS, MEMBERSHIP } from "../conversations/ports.js";
import { HuddleActions } from "./channels/huddle-actions.js";
import { huddleConversationPart, huddleFamily, huddleHandlers, huddlesUserPart } from "./channels/huddle-channels.js";
import { HuddleSignals } from "./channels/huddle-signals.js";
import { huddlesConfig } from "./config.js";
import { liveHuddleGauges } from "./metrics.js";
import { huddleProcessor } from "./processor.js";
import { HUDDLE_HISTORY_PROJECTION } from "./projections/history/huddle-history-changes.js";
import { startHuddleHistoryProjection } from "./projections/history/huddle-history-projection.js";
import { MongoHuddleHistoryStore } from "./projections/history/mongo-huddle-history-store.js";
import { huddleRoutes } from "./routes.js";
import { startLiveHuddlesProjection } from "./projections/live-huddles/live-huddles-projection.js";
import { LiveHuddlesReadModel } from "./projections/live-huddles/live-huddles-read-model.js";
import { LIVE_HUDDLES_PROJECTION, RedisLiveHuddlesStore } from "./projections/live-huddles/redis-live-huddles-store.js";
import { signalRelayStore, startSignalRelay } from "../calls/projections/signal-relay/signal-relay.js";
import { HUDDLE_SIGNAL_RELAY, huddleSignalRoute } from "./projections/signal-relay/huddle-signal-route.js";
import { HUDDLE_CONNECTIONS_PROJECTION, LOST_CONNECTIONS_PROJECTION } from "./projections/lost-connections/lost-connections-model.js";
import { startHuddleConnectionsProjection, startLostConnectionsProjection } from "./projections/lost-connections/lost-connections-policy.js";
import { RedisHuddleConnectionsStore, RedisLostConnectionsStore } from "./projections/lost-connections/redis-lost-connections-stores.js";

/** The huddles' history over the process's MongoDB client (which it does not close). */
export const huddleHistoryStore = (mongo: MongoClient, topicPrefix: string) => new MongoHuddleHistoryStore(mongo.db(), tablePrefixOf(topicPrefix));

/**
 * Huddles: one aggregate per huddle (`quikapp.huddles.*`) with its empty timer and its WebRTC
 * signals (`quikapp.huddlesignaling.*`), on the processor role; the `live-huddles` read model in
 * Redis, which publishes the huddles' changes, and the `huddle-signal-relay` (the calls' signal
 * relay), which delivers the signals; the `huddle:{huddleId}` topic with its signaling, the
 * huddles' part of the conversation topics (`huddle:create` and the live indicator), the huddles'
 * REST routes (`/api/huddles…`, `/api/conversations/:id/huddle`), the invitations on the
 * invitees' `user:{userId}`, and the huddles' metrics; the
 * huddles' history in MongoDB (`huddle-history`); and the presence policy (`huddle-connections`
 * and `huddle-lost-connections`), which removes with `connection_lost` the participants of every
 * connection presence closes.
 */
export const huddles = defineContext({
  name: "huddles",
  config: huddlesConfig,
  dependencies: () => ["mongo"],
  processors: (settings) => [huddleProcessor(settings)],
  projections: (kit) => {
    const { config, codec, redis, logger, metrics, registry } = kit;
    const prefix = config.kafka.topicPrefix;
    return [
      {
        name: LIVE_HUDDLES_PROJECTION,
        topic: TOPICS.huddles.events,
        store: () => new RedisLiveHuddlesStore(kit.redisConnection("live-huddles-store"), prefix),
        start: () => startLiveHuddlesProjection({ config, codec, redis, logger, metrics, registry }),
      },
      {
        name: HUDDLE_SIGNAL_RELAY,
        topic: TOPICS.huddlesignaling.events,
        store: () => signalRelayStore(kit.redisConnection("huddle-signal-relay-store"), huddleSignalRoute(config.kafka.topicPrefix)),
        start: () => startSignalRelay({ config, codec, redis, logger, metrics, registry }, huddleSignalRoute(config.kafka.topicPrefix)),
      },
      {
        name: HUDDLE_HISTORY_PROJECTION,
        topic: TOPICS.huddles.events,
        store: () => huddleHistoryStore(kit.mongo, prefix),
        start: () => startHuddleHistoryProjection({ config, codec, store: huddleHistoryStore(kit.mongo, prefix), logger, metrics }),
      },
      {
        name: HUDDLE_CONNECTIONS_PROJECTION,
        topic: TOPICS.huddles.events,
        // Without a sender: a rebuild applies without removing anyone.
        store: () => new RedisHuddleConnectionsStore(kit.redisConnection("huddle-connections-store"), prefix),
        start: () => startHuddleConnectionsProjection({ config, codec, logger, metrics, registry }),
      },
      {
        name: LOST_CONNECTIONS_PROJECTION,
        topic: TOPICS.presence.events,
        store: () => new RedisLostConnectionsStore(kit.redisConnection("huddle-lost-connections-store"), prefix),
        start: () => startLostConnectionsProjection({ config, codec, logger, metrics, registry }),
      },
    ];
  },
  gateway: async (kit) => {
    const { bus, redis, hub, logger, ports } = kit;
    const topicPrefix = kit.config.kafka.topicPrefix;
    const huddles = new LiveHuddlesReadModel(redis, topicPrefix);
    liveHuddleGauges(kit.registry, huddles);
    const actions = new HuddleActions({ bus, huddles, redis, topicPrefix, membership: () => ports.find(MEMBERSHIP) });
    const signals = new HuddleSignals({ bus, huddles, hub, topicPrefix, logger });
    const channels = { actions, handlers: { ...huddleHandlers(actions), ...signals.handlers() }, signals, hub, topicPrefix, logger };
    ports.find(CONVERSATION_TOPIC_PARTS)?.add(huddleConversationPart(channels));
    return {
      families: [huddleFamily(channels)],
      userChannel: huddlesUserPart(channels),
      lookups: [{ id: "huddle", title: "A huddle", keyName: "huddle id", read: async (huddleId) => (await huddles.huddle(huddleId)) ?? null }],
      stats: async () => ({ active_huddles: await huddles.liveCount() }),
      routes: async (app) => {
        await app.register(huddleRoutes, { actions, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
      },
    };
  },
});
