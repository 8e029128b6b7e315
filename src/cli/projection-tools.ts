import type { Admin } from "kafkajs";
import type { Config } from "../platform/config/config.js";
import { TOPICS } from "../platform/contract/topics.js";
import type { AvroCodec } from "../infra/avro/avro-codec.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import type { Logger } from "../infra/log/logger.js";
import { createMongoClient } from "../infra/mongo/mongo-connection.js";
import { createMysqlPool } from "../infra/mysql/mysql-pool.js";
import { createRedis } from "../infra/redis/redis-connection.js";
import { HISTORY_PROJECTION } from "../contexts/conversations/projections/history/history-changes.js";
import { createHistoryStore } from "../contexts/conversations/projections/history/history-projection.js";
import { membershipChanges } from "../contexts/conversations/projections/membership/membership-changes.js";
import { membershipReadModel } from "../contexts/conversations/projections/membership/membership-projection.js";
import { MEMBERSHIP_PROJECTION } from "../contexts/conversations/projections/membership/mysql-membership-store.js";
import { PRESENCE_PROJECTION } from "../contexts/presence/projections/presence/presence-changes.js";
import { RedisPresenceStore } from "../contexts/presence/projections/presence/redis-presence-store.js";
import {
  partitionStatus,
  rebuildProjection,
  type PartitionOffsets,
  type PartitionStatus,
  type RebuildableSink,
  type RebuildProgress,
  type RebuildResult,
} from "../platform/projection/rebuild.js";
import { RedisTypingStore, TYPING_PROJECTION } from "../contexts/typing/projections/typing/redis-typing-store.js";
import type { ConsumedRecord } from "../infra/kafka/record-consumer.js";

export const PROJECTIONS = [MEMBERSHIP_PROJECTION, HISTORY_PROJECTION, PRESENCE_PROJECTION, TYPING_PROJECTION] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

/** An operator mistake the tool explains in one line (a running projector, an unknown name). */
export class ProjectionToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProjectionToolError";
  }
}

export interface ProjectionStatus {
  readonly projection: ProjectionName;
  readonly partitions: readonly PartitionStatus[];
}

/** The consumer group of a running projection (see `ProjectionRuntime`). */
export const projectionGroup = (config: Config, name: ProjectionName): string => `${config.kafka.topicPrefix}quikchat.projection.${name}`;

interface Projection {
  readonly topic: string;
  /** `ensureSchema` where the read model has tables or collections to create first. */
  readonly sink: RebuildableSink & { ensureSchema?(): Promise<void> };
  /** Keeps caches in step with a rebuilt read model; never publishes anything. */
  readonly afterApply?: (records: readonly ConsumedRecord[]) => Promise<void>;
}

/**
 * The projection tools over their own connections (MySQL, MongoDB, Redis, a Kafka admin, and a
 * Redis connection for each Redis store, which WATCHes on it):
 * `status` reads each projection's checkpoints and the topics' watermarks; `rebuild` replays a
 * projection's topic into its emptied read model (see {@link rebuildProjection}).
 *
 * A rebuild refuses to start while the projection's consumer group has members, i.e. while a
 * projector role (`start --role projector` or `all`) runs anywhere against this cluster and
 * prefix: stop the projectors, rebuild, start them again. They resume from the rebuilt
 * checkpoints, and nothing the rebuild replayed is pushed to sockets.
 */
export async function openProjectionTools(config: Config, logger: Logger, codec: AvroCodec) {
  const pool = createMysqlPool(config.mysql.url, 2);
  const mongo = createMongoClient(config.mongo.url);
  const redis = createRedis(config.redis.url, logger, { name: "projection-tools" });
  const admin: Admin = createKafkajs(config.kafka, logger).admin();
  const prefix = config.kafka.topicPrefix;
  const presence = new RedisPresenceStore(createRedis(config.redis.url, logger, { name: "projection-tools-presence" }), prefix);
  const typing = new RedisTypingStore(createRedis(config.redis.url, logger, { name: "projection-tools-typing" }), prefix);
  const close = async () => {
    await Promise.allSettled([admin.disconnect(), pool.end(), mongo.close(), redis.quit(), presence.close(), typing.close()]);
  };
  try {
    await admin.connect();
  } catch (error) {
    await close();
    throw error;
  }
  const membership = membershipReadModel(pool, redis, config);
  const projections: Record<ProjectionName, Projection> = {
    membership: {
      topic: prefix + TOPICS.conversations.events,
      sink: membership.store,
      afterApply: async (records) => {
        for (const id of new Set(records.flatMap((record) => membershipChanges(record)).map((change) => change.conversationId))) {
          await membership.readModel.refresh(id);
        }
      },
    },
    history: { topic: prefix + TOPICS.messages.events, sink: createHistoryStore(config, { pool, mongo }) },
    // Their read models are all in Redis: nothing to keep in step, and no deltas while rebuilding.
    presence: { topic: prefix + TOPICS.presence.events, sink: presence },
    typing: { topic: prefix + TOPICS.typing.events, sink: typing },
  };

  const offsets = async (topic: string): Promise<PartitionOffsets[]> =>
    (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));

  return {
    /** Checkpoint, high watermark and lag of every partition of every projection. */
    async status(): Promise<ProjectionStatus[]> {
      const result: ProjectionStatus[] = [];
      for (const name of PROJECTIONS) {
        const { topic, sink } = projections[name];
        await sink.ensureSchema?.();
        result.push({ projection: name, partitions: partitionStatus(topic, await offsets(topic), await sink.checkpoints(topic)) });
      }
      return result;
    },

    /** Clears `name`'s read model and checkpoints and replays its topic up to the watermarks of now. */
    async rebuild(name: ProjectionName, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
      const group = projectionGroup(config, name);
      const [described] = (await admin.describeGroups([group])).groups;
      if (described !== undefined && described.members.length > 0) {
        throw new ProjectionToolError(
          `the ${name} projection is running (${described.members.length} member(s) in consumer group ${group}): stop every projector role first`,
        );
      }
      const { topic, sink, afterApply } = projections[name];
      await sink.ensureSchema?.();
      return rebuildProjection(sink, codec, logger.child({ projection: name, rebuild: true }), {
        brokers: config.kafka.brokers,
        clientId: `${config.kafka.clientId}-rebuild-${name}`,
        groupId: `${prefix}quikchat.rebuild.${name}`,
        topic,
        offsets: await offsets(topic),
        ...(afterApply === undefined ? {} : { afterApply }),
        ...(onProgress === undefined ? {} : { onProgress }),
      });
    },

    close,
  };
}

export type ProjectionTools = Awaited<ReturnType<typeof openProjectionTools>>;

/** The status as a table, one line per partition. */
export function formatStatus(statuses: readonly ProjectionStatus[]): string {
  const rows = [["projection", "topic", "partition", "checkpoint", "high watermark", "lag"]];
  for (const { projection, partitions } of statuses) {
    for (const p of partitions) {
      rows.push([projection, p.topic, String(p.partition), p.checkpoint === undefined ? "-" : String(p.checkpoint), String(p.highWatermark), String(p.lag)]);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ")).join("\n");
}

/** The rebuild's last line: how much, how long, how fast. */
export function formatRebuildResult(name: string, result: RebuildResult): string {
  const rate = result.seconds > 0 ? Math.round(result.applied / result.seconds) : result.applied;
  const skipped = result.undecodable > 0 ? `, ${result.undecodable} undecodable skipped` : "";
  return `${name}: ${result.applied} events applied from ${result.topic} in ${result.seconds.toFixed(1)} s (${rate} events/s${skipped})`;
}
