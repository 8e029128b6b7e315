import { defineContext } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { commentFamily, NEW_COMMENT } from "./channels/comment-family.js";
import { commentsConfig } from "./config.js";
import { TOPIC_VIEWERS } from "./ports.js";
import { commentsProcessor } from "./processor.js";
import { commentStore, startCommentProjection } from "./projections/comments/comment-projection.js";
import { COMMENTS_PROJECTION } from "./projections/comments/mysql-comment-store.js";

/**
 * Comments on videos (seed 003): one aggregate per video (`quikapp.comments.*`, the events a
 * downstream sync consumes), the comments read model in MySQL, and `comments:{videoId}` with the
 * presence of its viewers (the presence context's {@link TOPIC_VIEWERS}).
 */
export const comments = defineContext({
  name: "comments",
  config: commentsConfig,
  dependencies: () => ["mysql"],
  rateLimits: (settings) => [{ name: "comment", perMinute: settings.perMinute, events: [NEW_COMMENT] }],
  processors: () => [commentsProcessor],
  projections: (kit) => [
    {
      name: COMMENTS_PROJECTION,
      topic: TOPICS.comments.events,
      store: () => commentStore(kit.pool, kit.config.kafka.topicPrefix),
      start: () => startCommentProjection({ config: kit.config, codec: kit.codec, pool: kit.pool, redis: kit.redis, logger: kit.logger, metrics: kit.metrics }),
    },
  ],
  gateway: async (kit) => {
    const store = commentStore(kit.pool, kit.config.kafka.topicPrefix);
    // A gateway may start before any projector has made the table it reads.
    await store.ensureSchema();
    const viewers = () => kit.ports.find(TOPIC_VIEWERS);
    return { families: [commentFamily({ store, hub: kit.hub, bus: kit.bus, viewers, topicPrefix: kit.config.kafka.topicPrefix, logger: kit.logger })] };
  },
});
