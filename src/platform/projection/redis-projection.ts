import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { CoreConfig } from "../config/core-config.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import type { ConsumedRecord } from "../../infra/kafka/record-consumer.js";
import type { Logger } from "../../infra/log/logger.js";
import { redisMetrics, type ProjectionMetrics } from "../../infra/metrics/service-metrics.js";
import { createRedis } from "../../infra/redis/redis-connection.js";
import { ProjectionRuntime } from "./projection-runtime.js";
import type { RedisCheckpointedStore } from "./redis-checkpointed-store.js";

/** What a role gives a projection whose read model is in Redis. */
export interface RedisProjectionDeps {
  readonly config: CoreConfig;
  readonly codec: AvroCodec;
  /** Publishes the projection's deltas; the store gets a connection of its own. */
  readonly redis: Redis;
  readonly logger: Logger;
  readonly metrics?: ProjectionMetrics;
  /** Where the projection's own gauges go; none without it. */
  readonly registry?: Registry;
}

/** A projection whose read model is a {@link RedisCheckpointedStore}. */
export interface RedisProjection<Outcome> {
  /** Names the consumer group, the client id and the store's connection (`<name>-projection`). */
  readonly name: string;
  /** The event topic, without the topic prefix. */
  readonly topic: string;
  /** The store over the connection made for it. */
  readonly store: (redis: Redis) => RedisCheckpointedStore<Outcome>;
  /** Announces what a batch committed (gauges, deltas); `catchingUp` as in `AfterApply`. */
  readonly afterCommit: (outcome: Outcome, records: readonly ConsumedRecord[], context: { readonly catchingUp: boolean }) => Promise<void>;
}

/**
 * Starts `projection` over a Redis connection of its own for its store (WATCH holds per
 * connection), hands each committed batch's outcome to `afterCommit`, and closes the store after
 * the runtime.
 */
export async function startRedisProjection<Outcome>(
  deps: Pick<RedisProjectionDeps, "config" | "codec" | "logger" | "metrics" | "registry">,
  projection: RedisProjection<Outcome>,
): Promise<ProjectionRuntime> {
  const { config, codec } = deps;
  const { name, afterCommit } = projection;
  const prefix = config.kafka.topicPrefix;
  const logger = deps.logger.child({ projection: name });
  const connection = createRedis(config.redis.url, logger, { name: `${name}-projection`, ...(deps.registry === undefined ? {} : { metrics: redisMetrics(deps.registry) }) });
  const store = projection.store(connection);
  const runtime = new ProjectionRuntime(
    {
      name,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${name}`,
      groupPrefix: prefix,
      topics: [prefix + projection.topic],
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      onClose: () => store.close(),
    },
    store,
    codec,
    logger,
    async (records, context) => {
      const outcome = store.takeOutcome(records);
      if (outcome !== undefined) await afterCommit(outcome, records, context);
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
