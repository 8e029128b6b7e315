import type { Config } from "../config/config.js";
import { schemaRegistryProbe } from "../infra/avro/schema-registry-client.js";
import { kafkaProbe } from "../infra/kafka/kafka-probe.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import type { Logger } from "../infra/log/logger.js";
import { createServiceMetrics } from "../infra/metrics/service-metrics.js";
import { createMongoClient, mongoProbe } from "../infra/mongo/mongo-connection.js";
import { createMysqlPool, mysqlProbe } from "../infra/mysql/mysql-pool.js";
import { createRedis, redisProbe } from "../infra/redis/redis-connection.js";
import { stackUp } from "../infra/stack/stack.js";
import { buildApp } from "../gateway/app.js";
import { serve } from "../gateway/server.js";
import { bootstrapContract } from "./bootstrap.js";
import { stackSpecFromConfig } from "./stack-spec.js";

export const ROLES = ["all", "gateway"] as const;
export type Role = (typeof ROLES)[number];

export interface Running {
  readonly address: string;
  shutdown(reason: string): Promise<void>;
}

/**
 * The composition root of one process: brings up the local stack when configured to, makes
 * the cluster match the contract, builds the adapters, serves HTTP. Adapters close in reverse
 * order of creation.
 */
export async function start(config: Config, logger: Logger, role: Role): Promise<Running> {
  if (config.stack.mode === "auto") {
    for (const component of await stackUp(stackSpecFromConfig(config), (line) => logger.info(line))) {
      logger.info({ component: component.name, state: component.state, address: component.address }, "stack component");
    }
  }
  const { registry } = await bootstrapContract(config, logger);

  const closers: (() => Promise<unknown>)[] = [];
  const redis = createRedis(config.redis.url, logger, { name: "health", failFast: true });
  closers.push(() => redis.quit().catch(() => redis.disconnect()));
  const pool = createMysqlPool(config.mysql.url, 2);
  closers.push(() => pool.end());
  const mongo = createMongoClient(config.mongo.url);
  closers.push(() => mongo.close());

  const metrics = createServiceMetrics({ node: config.service.nodeId });
  const app = await buildApp({
    logger,
    metrics,
    version: config.service.version,
    nodeId: config.service.nodeId,
    probes: [
      kafkaProbe(createKafkajs(config.kafka, logger, { retries: 0, quiet: true })),
      schemaRegistryProbe(registry),
      redisProbe(redis),
      mysqlProbe(pool),
      mongoProbe(mongo),
    ],
    stats: () => ({ websocket_connections: 0, online_users: 0, active_calls: 0, active_huddles: 0 }),
  });
  logger.info({ role }, "role started");
  return serve(app, config.service, logger, async () => {
    for (const close of closers.reverse()) await close();
  });
}
