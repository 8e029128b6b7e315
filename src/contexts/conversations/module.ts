import { defineContext, type ContextProjection, type GatewayKit, type GatewayPart, type ProjectionKit } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { gatewayMetrics } from "../../infra/metrics/service-metrics.js";
import { conversationActions } from "./channels/conversation-actions.js";
import { conversationFamily } from "./channels/conversation-family.js";
import { conversationFeed } from "./channels/conversation-feed.js";
import { ConversationSubscriptions, watchMembership } from "./channels/conversation-subscriptions.js";
import { DeltaFanout } from "./channels/delta-fanout.js";
import { CHAT_DIALECT, CONVERSATION_DIALECT } from "./channels/dialects.js";
import { serverMessages } from "./channels/server-messages.js";
import { CONVERSATION_PUBLISHER } from "../channels/ports.js";
import { conversationsConfig, type ConversationsSettings } from "./config.js";
import { CONVERSATION_MUTES, CONVERSATION_TOPIC_PARTS, CONVERSATION_TYPING, CONVERSATION_VIEWERS, JOINED_CONVERSATIONS, MEMBERSHIP } from "./ports.js";
import { ConversationTopicParts } from "./channels/conversation-topic-parts.js";
import { muteRoutes } from "./mute-routes.js";
import { MUTES_PROJECTION } from "./projections/mutes/mute-changes.js";
import { mutesStore, startMutesProjection } from "./projections/mutes/mutes-projection.js";
import { conversationProcessor } from "./processor.js";
import { HISTORY_PROJECTION } from "./projections/history/history-changes.js";
import { createHistoryStore, startHistoryProjection } from "./projections/history/history-projection.js";
import { membershipChanges } from "./projections/membership/membership-changes.js";
import { membershipReadModel, startMembershipProjection } from "./projections/membership/membership-projection.js";
import { MEMBERSHIP_PROJECTION } from "./projections/membership/mysql-membership-store.js";
import { READ_POSITIONS_PROJECTION } from "./projections/membership/read-position-changes.js";
import { readPositionsStore, startReadPositionsProjection } from "./projections/membership/read-positions-projection.js";
import { conversationRoutes, SEND_ROUTE } from "./routes.js";

/**
 * Conversations: their members and their messages, one aggregate per conversation
 * (`quikapp.conversations.*` and `quikapp.messages.*`), the membership read model (with the read
 * positions beside it), the history read model and the members' mutes ({@link CONVERSATION_MUTES}),
 * the `chat:` and `conversation:` topics and the conversations REST API (with each member's
 * notification setting, `/api/conversations/:id/notifications`).
 */
export const conversations = defineContext({
  name: "conversations",
  config: conversationsConfig,
  // Membership is in MySQL whatever the history store.
  dependencies: (settings) => (settings.historyStore === "mongo" ? ["mysql", "mongo"] : ["mysql"]),
  rateLimits: (settings) => [{ name: "message", perMinute: settings.messagesPerMinute, events: ["message:send", "new_message", SEND_ROUTE] }],
  processors: () => [conversationProcessor],
  projections: (kit, settings) => [membershipProjection(kit), historyProjection(kit, settings), readPositionsProjection(kit), mutesProjection(kit)],
  gateway: conversationsGateway,
});

function membershipProjection(kit: ProjectionKit): ContextProjection {
  const { config, codec, pool, redis, logger, metrics } = kit;
  return {
    name: MEMBERSHIP_PROJECTION,
    topic: TOPICS.conversations.events,
    store: () => membershipReadModel(pool, redis, config.kafka.topicPrefix).store,
    async afterRebuild(records) {
      const { readModel } = membershipReadModel(pool, redis, config.kafka.topicPrefix);
      for (const id of new Set(records.flatMap((record) => membershipChanges(record)).map((change) => change.conversationId))) {
        await readModel.refresh(id);
      }
    },
    start: () => startMembershipProjection({ config, codec, pool, redis, logger, metrics }),
  };
}

function historyProjection(kit: ProjectionKit, settings: ConversationsSettings): ContextProjection {
  const { config, codec, redis, logger, metrics } = kit;
  // The kit itself: only the store of the configured kind is reached.
  const store = () => createHistoryStore(settings.historyStore, config.kafka.topicPrefix, kit);
  return {
    name: HISTORY_PROJECTION,
    topic: TOPICS.messages.events,
    store,
    start: () => startHistoryProjection({ config, codec, store: store(), redis, logger, metrics }),
  };
}

function readPositionsProjection(kit: ProjectionKit): ContextProjection {
  const { config, codec, pool, logger, metrics } = kit;
  return {
    name: READ_POSITIONS_PROJECTION,
    topic: TOPICS.messages.events,
    store: () => readPositionsStore(pool, config.kafka.topicPrefix),
    start: () => startReadPositionsProjection({ config, codec, pool, logger, metrics }),
  };
}

function mutesProjection(kit: ProjectionKit): ContextProjection {
  const { config, codec, pool, logger, metrics } = kit;
  return {
    name: MUTES_PROJECTION,
    topic: TOPICS.conversations.events,
    store: () => mutesStore(pool, config.kafka.topicPrefix),
    start: () => startMutesProjection({ config, codec, pool, logger, metrics }),
  };
}

async function conversationsGateway(kit: GatewayKit, settings: ConversationsSettings): Promise<GatewayPart> {
  const { config, bus, hub, logger, pool, redis, ports } = kit;
  const prefix = config.kafka.topicPrefix;
  const history = createHistoryStore(settings.historyStore, prefix, kit);
  await history.ensureSchema();
  const { store, readModel: membership } = membershipReadModel(pool, redis, prefix);
  const readPositions = readPositionsStore(pool, prefix);
  // A gateway may start before any projector has made the tables it reads.
  await store.ensureSchema();
  await readPositions.ensureSchema();
  const mutes = mutesStore(pool, prefix);
  await mutes.ensureSchema();
  ports.provide(MEMBERSHIP, membership);
  ports.provide(CONVERSATION_MUTES, mutes);
  ports.provide(CONVERSATION_PUBLISHER, serverMessages(bus, membership));
  const parts = new ConversationTopicParts();
  ports.provide(CONVERSATION_TOPIC_PARTS, parts);
  const subscriptions = new ConversationSubscriptions();
  ports.provide(JOINED_CONVERSATIONS, subscriptions);
  const stopWatching = await watchMembership(hub, prefix, subscriptions, logger);
  const channels = {
    membership,
    subscriptions,
    parts,
    actions: conversationActions(bus, () => ports.find(CONVERSATION_TYPING)),
    feed: conversationFeed(new DeltaFanout(hub, prefix, logger), history, logger, { metrics: gatewayMetrics(kit.registry) }),
    viewers: () => ports.find(CONVERSATION_VIEWERS),
  };
  return {
    families: [conversationFamily(CHAT_DIALECT, channels), conversationFamily(CONVERSATION_DIALECT, channels)],
    routes: async (app) => {
      await app.register(conversationRoutes, { bus, membership, inbox: store, readPositions, history, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
      await app.register(muteRoutes, { bus, membership, mutes, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
    },
    close: () => Promise.resolve(stopWatching()),
  };
}
