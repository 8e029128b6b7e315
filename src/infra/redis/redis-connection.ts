import { Redis } from "ioredis";
import type { DependencyProbe } from "../../platform/gateway/dependency-health.js";
import type { Logger } from "../log/logger.js";
import type { RedisMetrics } from "../metrics/service-metrics.js";
import { instrumentRedis } from "./redis-instrumentation.js";

/**
 * A Redis connection that reconnects forever with a capped backoff. Commands issued while
 * disconnected wait in the offline queue unless `failFast` is set (health checks, where a
 * prompt "unhealthy" beats a queued ping). With `metrics`, every command is counted and timed
 * (see {@link instrumentRedis}).
 */
export function createRedis(url: string, logger: Logger, options: { name: string; failFast?: boolean; metrics?: RedisMetrics }): Redis {
  const redis = new Redis(url, {
    connectionName: options.name,
    lazyConnect: false,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.failFast ? 0 : 20,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
  });
  let reported = false;
  redis.on("error", (error) => {
    if (!reported) logger.warn({ err: error, redis: options.name }, "redis connection error");
    reported = true;
  });
  redis.on("ready", () => {
    reported = false;
  });
  return options.metrics === undefined ? redis : instrumentRedis(redis, options.metrics);
}

export function redisProbe(redis: Redis): DependencyProbe {
  return {
    name: "redis",
    async check() {
      const answer = await redis.ping();
      if (answer !== "PONG") throw new Error(`unexpected PING answer ${String(answer)}`);
    },
  };
}

/**
 * Connects once to `url`, pings and disconnects: resolves when a Redis answers within
 * `timeoutMs`, rejects otherwise with the connection's own error (ECONNREFUSED, a refused
 * password…), where ioredis alone would only say that the connection is closed.
 */
export async function pingRedisOnce(url: string, timeoutMs: number): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
  });
  let failure: Error | undefined;
  redis.on("error", (error: Error) => {
    failure ??= error;
  });
  try {
    await redis.connect();
    const answer = await redis.ping();
    if (answer !== "PONG") throw new Error(`unexpected PING answer ${String(answer)}`);
  } catch (error) {
    throw failure ?? error;
  } finally {
    redis.disconnect();
  }
}
