import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { Config } from "../../config/config.js";
import { TOPICS } from "../../contract/topics.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import type { Logger } from "../../infra/log/logger.js";
import { presenceMetrics, type ProjectionMetrics } from "../../infra/metrics/service-metrics.js";
import { createRedis } from "../../infra/redis/redis-connection.js";
import { conversationDeltaChannel, type ConversationDelta } from "../history/history-port.js";
import { StoreOwningRuntime } from "../presence/presence-projection.js";
import type { ProjectionRuntime } from "../projection-runtime.js";
import { indicatorKey, RedisTypingStore, TYPING_PROJECTION, type TypingIndicator } from "./redis-typing-store.js";

/**
 * The typing indicators this projector applied and that have neither stopped nor passed their
 * deadline: what `typing_active_users` counts. Only this process's partitions count, and only
 * indicators (re)started since it started; after a rebalance, indicators of partitions it lost
 * drop out at their deadline.
 */
export class LiveTypingIndicators {
  private readonly deadlines = new Map<string, number>();

  note(indicators: readonly TypingIndicator[]): void {
    for (const { conversationId, userId, expiresAt } of indicators) {
      const key = indicatorKey(conversationId, userId);
      if (expiresAt === null) this.deadlines.delete(key);
      else this.deadlines.set(key, expiresAt);
    }
  }

  /** The indicators live at `now` (epoch ms); forgets the others. */
  count(now: number): number {
    for (const [key, deadline] of this.deadlines) if (deadline <= now) this.deadlines.delete(key);
    return this.deadlines.size;
  }
}

/**
 * Projects `quikapp.typing.events` into Redis ({@link RedisTypingStore}) and, after each commit
 * of a batch that is not catching up, publishes a `typing` {@link ConversationDelta} on the
 * conversation's channel for every indicator that appeared or disappeared (a renewal publishes
 * nothing), in record order. While catching up nothing is published: those indicators are
 * long gone. With `registry`, reports `typing_active_users` ({@link LiveTypingIndicators}).
 *
 * The store gets a Redis connection of its own (WATCH); `redis` publishes.
 */
export async function startTypingProjection(deps: {
  config: Config;
  codec: AvroCodec;
  redis: Redis;
  logger: Logger;
  metrics?: ProjectionMetrics;
  registry?: Registry;
}): Promise<ProjectionRuntime> {
  const { config, codec, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  const logger = deps.logger.child({ projection: TYPING_PROJECTION });
  const store = new RedisTypingStore(createRedis(config.redis.url, logger, { name: "typing-projection" }), prefix);
  const live = new LiveTypingIndicators();
  if (deps.registry !== undefined) presenceMetrics(deps.registry, { typingActiveUsers: () => live.count(Date.now()) });
  const runtime = new StoreOwningRuntime(
    {
      name: TYPING_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${TYPING_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.typing.events],
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    codec,
    logger,
    async (records, { catchingUp }) => {
      const outcome = store.takeOutcome(records);
      if (outcome === undefined) return;
      live.note(outcome.indicators);
      if (catchingUp || outcome.transitions.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { conversationId, userId, typing } of outcome.transitions) {
        const delta: ConversationDelta = { kind: "typing", conversationId, userId, typing };
        pipeline.publish(conversationDeltaChannel(prefix, conversationId), JSON.stringify(delta));
      }
      const failed = (await pipeline.exec())?.find(([error]) => error !== null);
      if (failed) throw new Error("publishing typing deltas failed", { cause: failed[0] });
    },
  );
  try {
    await runtime.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  return runtime;
}
