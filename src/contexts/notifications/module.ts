import { defineContext, type ContextProjection, type ProjectionKit } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { JOINED_CONVERSATIONS } from "../conversations/ports.js";
import { notificationsUserPart } from "./channels/notifications-user-part.js";
import { notificationsConfig, type NotificationsSettings } from "./config.js";
import { CONVERSATION_MUTES } from "./ports.js";
import { startCallsPolicy, startMessagesPolicy, type PolicyDeps } from "./policy/policy-projections.js";
import { NOTIFY_CALLS_PROJECTION, NOTIFY_MESSAGES_PROJECTION, RedisBurstStore, RedisCallsPolicyStore } from "./policy/policy-stores.js";
import { readModelFacts } from "./policy/read-model-facts.js";
import { notificationRoutes } from "./routes.js";

/**
 * Notifications: the policy that decides who is notified of what (`notify-messages`: a burst of
 * new messages per conversation, for each member who is not the sender, not viewing it, has not
 * muted it and has not read it; `notify-calls`: incoming and missed calls), which asks for them
 * with `RequestNotification` on `quikapp.notifications.commands`; and the notifications' part of
 * `user:{userId}` (`message`, `notification`, `notification:ack`) with its REST acknowledgement.
 */
export const notifications = defineContext({
  name: "notifications",
  config: notificationsConfig,
  // The policy reads the conversations' membership and read positions (MySQL).
  dependencies: () => ["mysql"],
  projections: (kit, settings) => policyProjections(kit, settings),
  gateway: async (kit) => {
    const { hub, bus, logger, ports } = kit;
    const user = notificationsUserPart({ hub, bus, topicPrefix: kit.config.kafka.topicPrefix, logger, joined: () => ports.find(JOINED_CONVERSATIONS) });
    return {
      userChannel: user.open,
      lifecycle: user.lifecycle,
      routes: async (app) => {
        await app.register(notificationRoutes, { bus, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
      },
    };
  },
});

function policyProjections(kit: ProjectionKit, settings: NotificationsSettings): ContextProjection[] {
  const { config, codec, redis, logger, metrics, registry, ports } = kit;
  const prefix = config.kafka.topicPrefix;
  const timing = { batchWindowMs: settings.batchWindowMs, maxAgeMs: settings.maxAgeMs };
  const deps = async (): Promise<PolicyDeps> => {
    const facts = readModelFacts({ pool: kit.pool, redis, topicPrefix: prefix, mutes: () => ports.find(CONVERSATION_MUTES) });
    await facts.ensureSchema();
    return { config, codec, redis, logger, metrics, registry, facts, timing };
  };
  return [
    {
      name: NOTIFY_MESSAGES_PROJECTION,
      topic: TOPICS.messages.events,
      store: () => new RedisBurstStore(kit.redisConnection("notify-messages-store"), prefix, timing),
      start: async () => startMessagesPolicy(await deps()),
    },
    {
      name: NOTIFY_CALLS_PROJECTION,
      topic: TOPICS.calls.events,
      store: () => new RedisCallsPolicyStore(kit.redisConnection("notify-calls-store"), prefix, () => Promise.resolve(new Map())),
      start: async () => startCallsPolicy(await deps()),
    },
  ];
}
