import { defineContext, type GatewayKit, type GatewayPart } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { DISCONNECT_REASONS } from "../../platform/phoenix/disconnect-reasons.js";
import { ownTopicFamily } from "../../platform/phoenix/identity-families.js";
import { WORKSPACE_PRESENCE } from "../channels/ports.js";
import { TOPIC_VIEWERS } from "../comments/ports.js";
import { CONVERSATION_VIEWERS } from "../conversations/ports.js";
import { ownPresence, statusSetter, workspacePresence } from "./channels/presence-channels.js";
import { PresenceRooms } from "./channels/presence-rooms.js";
import { conversationViewers, topicViewers } from "./channels/topic-viewers.js";
import { presenceConfig, type PresenceSettings } from "./config.js";
import { presenceOperations } from "./metrics.js";
import { PresenceTracker } from "./presence-tracker.js";
import { presenceProcessor } from "./processor.js";
import { PRESENCE_PROJECTION, type ViewedTopic } from "./projections/presence/presence-fold.js";
import { presenceDiffChannel, viewerDiffChannel } from "./projections/presence/presence-model.js";
import { startPresenceProjection } from "./projections/presence/presence-projection.js";
import { PresenceReadModel } from "./projections/presence/presence-read-model.js";
import { RedisPresenceStore } from "./projections/presence/redis-presence-store.js";
import { presenceRoutes } from "./routes.js";

/**
 * Presence: one aggregate per user over its connections and chosen status
 * (`quikapp.presence.*`), the Redis read model with Phoenix.Presence metas per workspace, the
 * gateways' connection tracking and dead-gateway sweeper, `presence:{workspaceId}`, the
 * presence part of `user:{userId}`, the viewers of `comments:{videoId}` (a port), and
 * `/api/presence`.
 */
export const presence = defineContext({
  name: "presence",
  config: presenceConfig,
  // The projector reads the conversations' membership (MySQL) to announce user_online/user_offline.
  dependencies: () => ["mysql"],
  processors: (settings) => [
    presenceProcessor({
      connectionTtlMs: settings.connectionTtlMs,
      // The client reconnects at once after these, with a fresh token: its presence should not flap.
      reconnectGrace: { ms: settings.reconnectGraceMs, closeCodes: [DISCONNECT_REASONS.tokenExpired.code] },
    }),
  ],
  projections: (kit, settings) => {
    const { config, codec, redis, pool, logger, metrics, registry } = kit;
    return [
      {
        name: PRESENCE_PROJECTION,
        topic: TOPICS.presence.events,
        store: () => new RedisPresenceStore(kit.redisConnection("presence-store"), config.kafka.topicPrefix),
        start: () => startPresenceProjection({ config, codec, redis, pool, logger, metrics, registry, maxWorkspaceSeries: settings.metricsMaxWorkspaces }),
      },
    ];
  },
  gateway: presenceGateway,
});

async function presenceGateway(kit: GatewayKit, settings: PresenceSettings): Promise<GatewayPart> {
  const { config, bus, hub, redis, logger } = kit;
  const prefix = config.kafka.topicPrefix;
  const presence = new PresenceReadModel(redis, prefix);
  const tracker = new PresenceTracker({
    commands: bus,
    redis,
    directory: presence,
    gatewayId: kit.gatewayId,
    topicPrefix: prefix,
    settings,
    logger,
    metrics: { presenceOperations: presenceOperations(kit.registry) },
  });
  await tracker.start();
  const setStatus = statusSetter(bus);
  const rooms = new PresenceRooms<string>(
    hub,
    { channelOf: (workspaceId) => presenceDiffChannel(prefix, workspaceId), state: (workspaceId) => presence.workspaceState(workspaceId) },
    settings.diffIntervalMs,
    logger,
  );
  const viewerRooms = new PresenceRooms<ViewedTopic>(
    hub,
    { channelOf: ({ workspaceId, topic }) => viewerDiffChannel(prefix, workspaceId, topic), state: ({ workspaceId, topic }) => presence.topicViewers(workspaceId, topic) },
    settings.diffIntervalMs,
    logger,
  );
  kit.ports.provide(WORKSPACE_PRESENCE, { enter: (workspaceId, outlet) => rooms.enter(workspaceId, outlet), workspaceState: (workspaceId) => presence.workspaceState(workspaceId) });
  kit.ports.provide(TOPIC_VIEWERS, topicViewers(viewerRooms, tracker));
  kit.ports.provide(CONVERSATION_VIEWERS, conversationViewers(tracker, logger));
  return {
    families: [ownTopicFamily("presence:", (identity) => identity.workspaceId, workspacePresence(rooms, setStatus))],
    userChannel: ownPresence(hub, presence, prefix, logger, setStatus),
    routes: async (app) => {
      await app.register(presenceRoutes, { presence, setStatus, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
    },
    lifecycle: tracker,
    lookups: [
      {
        id: "workspace-presence",
        title: "Presence of a workspace",
        keyName: "workspace id",
        read: async (workspaceId) => ({ online: await presence.onlineUsers(workspaceId), connections: await presence.workspaceState(workspaceId) }),
      },
    ],
    stats: () => ({ online_users: tracker.localUsers }),
    // Runs before the command bus closes: the DisconnectClient commands of the sockets closed on shutdown go out first.
    close: () => tracker.close(),
  };
}
