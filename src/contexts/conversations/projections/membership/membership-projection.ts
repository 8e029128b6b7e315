import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { membershipChanges } from "./membership-changes.js";
import { MembershipReadModel } from "./membership-read-model.js";
import { MysqlMembershipStore } from "./mysql-membership-store.js";
import { RedisMembershipCache } from "./redis-membership-cache.js";

/** A member left or joined a conversation: gateways close or allow that user's channels. */
export interface MembershipDelta {
  readonly conversationId: string;
  readonly userId: string;
  readonly change: "added" | "removed";
}

/** The Redis pub/sub channel membership deltas go out on. */
export const membershipChannel = (prefix: string): string => `${prefix}membership:changes`;

export interface MembershipParts {
  readonly store: MysqlMembershipStore;
  readonly readModel: MembershipReadModel;
}

/** The membership read model over MySQL and Redis, as the gateway reads it. */
export function membershipReadModel(pool: Pool, redis: Redis, topicPrefix: string): MembershipParts {
  const store = new MysqlMembershipStore(pool, tablePrefixOf(topicPrefix));
  return { store, readModel: new MembershipReadModel(store, new RedisMembershipCache(redis, topicPrefix)) };
}

/**
 * Projects `quikapp.conversations.events` (ours and upstream services') into the membership
 * read model; after each commit, refreshes the cache of every touched conversation and, when
 * live, publishes membership deltas.
 */
export async function startMembershipProjection(deps: {
  config: CoreConfig;
  codec: AvroCodec;
  pool: Pool;
  redis: Redis;
  logger: Logger;
  metrics?: ProjectionMetrics;
}): Promise<ProjectionRuntime> {
  const { config, codec, redis } = deps;
  const { store, readModel } = membershipReadModel(deps.pool, redis, config.kafka.topicPrefix);
  await store.ensureSchema();
  const logger = deps.logger.child({ projection: "membership" });
  const runtime = new ProjectionRuntime(
    {
      name: "membership",
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-membership`,
      groupPrefix: config.kafka.topicPrefix,
      topics: [config.kafka.topicPrefix + TOPICS.conversations.events],
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    codec,
    logger,
    async (records, { catchingUp }) => {
      const changes = records.flatMap((record) => membershipChanges(record));
      for (const conversationId of new Set(changes.map((change) => change.conversationId))) {
        await readModel.refresh(conversationId);
      }
      if (catchingUp) return;
      for (const change of changes) {
        if (change.kind === "conversation") continue;
        const delta: MembershipDelta = {
          conversationId: change.conversationId,
          userId: change.userId,
          change: change.kind === "member_added" ? "added" : "removed",
        };
        await redis.publish(membershipChannel(config.kafka.topicPrefix), JSON.stringify(delta));
      }
    },
  );
  await runtime.start();
  return runtime;
}
