import type { Pool } from "mysql2/promise";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { MysqlReadPositionsStore } from "./mysql-read-positions-store.js";
import { READ_POSITIONS_PROJECTION } from "./read-position-changes.js";

/** The read positions over MySQL, under the tables of `topicPrefix`. */
export function readPositionsStore(pool: Pool, topicPrefix: string): MysqlReadPositionsStore {
  return new MysqlReadPositionsStore(pool, tablePrefixOf(topicPrefix));
}

/**
 * Projects `quikapp.messages.events` into the read positions (after creating their tables). It
 * publishes nothing: clients learn of new messages and receipts from the history projection's
 * deltas, and read their unread counts over REST.
 */
export async function startReadPositionsProjection(deps: {
  config: CoreConfig;
  codec: AvroCodec;
  pool: Pool;
  logger: Logger;
  metrics?: ProjectionMetrics;
}): Promise<ProjectionRuntime> {
  const { config } = deps;
  const prefix = config.kafka.topicPrefix;
  const store = readPositionsStore(deps.pool, prefix);
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: READ_POSITIONS_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${READ_POSITIONS_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.messages.events],
      // Partitions hold disjoint conversations, so their transactions over the pool never wait for each other.
      parallelPartitions: true,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    deps.codec,
    deps.logger.child({ projection: READ_POSITIONS_PROJECTION }),
  );
  await runtime.start();
  return runtime;
}
