import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { COMMENTS_PROJECTION, commentOf, MysqlCommentStore } from "./mysql-comment-store.js";

/** The comments read model over `pool`, with the deployment's table prefix. */
export function commentStore(pool: Pool, topicPrefix: string): MysqlCommentStore {
  return new MysqlCommentStore(pool, tablePrefixOf(topicPrefix));
}

/** The Redis pub/sub channel of one video's new comments. */
export const commentChannel = (prefix: string, workspaceId: string, videoId: string): string => `${prefix}comments:{${workspaceId}}:${videoId}`;

/**
 * Projects `quikapp.comments.events` into MySQL and, after each commit of a live partition,
 * publishes each new comment on {@link commentChannel} (a projection catching up publishes
 * nothing: joins read the latest comments from MySQL).
 */
export async function startCommentProjection(deps: { config: CoreConfig; codec: AvroCodec; pool: Pool; redis: Redis; logger: Logger; metrics?: ProjectionMetrics }): Promise<ProjectionRuntime> {
  const prefix = deps.config.kafka.topicPrefix;
  const store = commentStore(deps.pool, prefix);
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: COMMENTS_PROJECTION,
      brokers: deps.config.kafka.brokers,
      clientId: `${deps.config.kafka.clientId}-${COMMENTS_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.comments.events],
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    deps.codec,
    deps.logger.child({ projection: COMMENTS_PROJECTION }),
    async (records, { catchingUp }) => {
      if (catchingUp) return;
      for (const record of records) {
        const comment = commentOf(record);
        if (comment === undefined) continue;
        const { workspaceId, videoId, ...view } = comment;
        await deps.redis.publish(commentChannel(prefix, workspaceId, videoId), JSON.stringify(view));
      }
    },
  );
  await runtime.start();
  return runtime;
}
