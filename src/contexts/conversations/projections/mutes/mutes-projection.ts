import type { Pool } from "mysql2/promise";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { MUTES_PROJECTION } from "./mute-changes.js";
import { MysqlMutesStore } from "./mysql-mutes-store.js";

/** The mutes read model over MySQL, under the tables of `topicPrefix`. */
export function mutesStore(pool: Pool, topicPrefix: string): MysqlMutesStore {
  return new MysqlMutesStore(pool, tablePrefixOf(topicPrefix));
}

/**
 * Projects `quikapp.conversations.events` into the members' mutes (after creating their table).
 * It publishes nothing: the notifier and the REST API read it.
 */
export async function startMutesProjection(deps: { config: CoreConfig; codec: AvroCodec; pool: Pool; logger: Logger; metrics?: ProjectionMetrics }): Promise<ProjectionRuntime> {
  const { config } = deps;
  const prefix = config.kafka.topicPrefix;
  const store = mutesStore(deps.pool, prefix);
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: MUTES_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${MUTES_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.conversations.events],
      // Partitions hold disjoint conversations, so their transactions over the pool never wait for each other.
      parallelPartitions: true,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    deps.codec,
    deps.logger.child({ projection: MUTES_PROJECTION }),
  );
  await runtime.start();
  return runtime;
}
