import { defineContext } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { CONVERSATION_TYPING, MEMBERSHIP } from "../conversations/ports.js";
import { typingSignals } from "./channels/typing-signals.js";
import { typingConfig } from "./config.js";
import { typingOperations } from "./metrics.js";
import { typingProcessor } from "./processor.js";
import { RedisTypingStore, TYPING_PROJECTION } from "./projections/typing/redis-typing-store.js";
import { startTypingProjection } from "./projections/typing/typing-projection.js";
import { TypingReadModel } from "./projections/typing/typing-read-model.js";
import { typingRoutes } from "./routes.js";

/** The events that draw from the typing budget, in both conversation dialects. */
const TYPING_EVENTS = ["typing", "typing:start", "typing:stop", "typing_start", "typing_stop"];

/**
 * Typing indicators: one aggregate per conversation on ephemeral topics (`quikapp.typing.*`)
 * with an expiry timer, the Redis read model, the typing pushes of conversation topics and
 * `GET /api/presence/typing/:conversation_id`.
 */
export const typing = defineContext({
  name: "typing",
  config: typingConfig,
  rateLimits: (settings) => [{ name: "typing", perMinute: settings.perMinute, events: TYPING_EVENTS }],
  processors: (settings) => [typingProcessor({ timeoutMs: settings.timeoutMs })],
  projections: (kit) => {
    const { config, codec, redis, logger, metrics, registry } = kit;
    return [
      {
        name: TYPING_PROJECTION,
        topic: TOPICS.typing.events,
        store: () => new RedisTypingStore(kit.redisConnection("typing-store"), config.kafka.topicPrefix),
        start: () => startTypingProjection({ config, codec, redis, logger, metrics, registry }),
      },
    ];
  },
  gateway: async (kit, settings) => {
    kit.ports.provide(CONVERSATION_TYPING, typingSignals(kit.bus, settings, { typingOperations: typingOperations(kit.registry) }));
    const options = {
      typing: new TypingReadModel(kit.redis, kit.config.kafka.topicPrefix),
      membership: kit.ports.require(MEMBERSHIP),
      authenticate: kit.authenticate,
      rateLimiter: kit.rateLimiter,
    };
    return {
      routes: async (app) => {
        await app.register(typingRoutes, options);
      },
    };
  },
});
