import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { CoreConfig } from "../config/core-config.js";
import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import type { ConsumedRecord } from "../../infra/kafka/record-consumer.js";
import type { Logger } from "../../infra/log/logger.js";
import { redisMetrics, type ProjectionMetrics } from "../../infra/metrics/service-metrics.js";
import { createRedis } from "../../infra/redis/redis-connection.js";
import { ProjectionRuntime, projectionOptions, type ProjectionOptions, type ProjectionSink } from "./projection-runtime.js";
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
  /**
   * Runs before each batch of a partition is applied (the records as read, some perhaps below
   * the checkpoint): side effects that must not be lost, such as commands issued in reaction,
   * which then happen at least once (their ids must make a repeat harmless). When it rejects,
   * nothing of the batch is applied, and it is retried.
   */
  readonly beforeApply?: (records: readonly ConsumedRecord[]) => Promise<void>;
  /** Takes each record that cannot be decoded (see `ProjectionOptions.deadLetter`). */
  readonly deadLetter?: ProjectionOptions["deadLetter"];
  /** Closes what the projection opened besides its store, once the runtime has stopped. */
  readonly onClose?: () => Promise<void>;
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
  const logger = deps.logger.child({ projection: name });
  const connection = createRedis(config.redis.url, logger, { name: `${name}-projection`, ...(deps.registry === undefined ? {} : { metrics: redisMetrics(deps.registry) }) });
  const store = projection.store(connection);
  const { beforeApply } = projection;
  const sink: ProjectionSink =
    beforeApply === undefined
      ? store
      : {
          checkpoints: (topic) => store.checkpoints(topic),
          apply: async (topic, partition, records) => {
            await beforeApply(records);
            return store.apply(topic, partition, records);
          },
          verify: () => store.verify(),
        };
  const close = async () => {
    await projection.onClose?.();
    await store.close();
  };
  const runtime = new ProjectionRuntime(
    {
      ...projectionOptions(config.kafka, name, projection.topic, deps.metrics),
      ...(projection.deadLetter === undefined ? {} : { deadLetter: projection.deadLetter }),
      onClose: close,
    },
    sink,
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
    await close();
    throw error;
  }
  return runtime;
}
