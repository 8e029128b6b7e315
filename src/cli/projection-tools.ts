import type { Admin } from "kafkajs";
import type { Redis } from "ioredis";
import { CONTEXT_MODULES, settingsOf, type Config } from "../contexts/index.js";
import { kitFor, usedDependencies, type ContextModule, type ContextProjection, type ProjectionKit } from "../platform/context-module.js";
import { Ports } from "../platform/ports.js";
import type { AvroCodec } from "../infra/avro/avro-codec.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import type { Logger } from "../infra/log/logger.js";
import { projectionMetrics } from "../infra/metrics/service-metrics.js";
import { createMongoClient } from "../infra/mongo/mongo-connection.js";
import { createMysqlPool } from "../infra/mysql/mysql-pool.js";
import { createRedis } from "../infra/redis/redis-connection.js";
import { Registry } from "prom-client";
import { formatTable } from "./tool-output.js";
import {
  partitionStatus,
  rebuildProjection,
  type PartitionOffsets,
  type PartitionStatus,
  type RebuildProgress,
  type RebuildResult,
} from "../platform/projection/rebuild.js";

/** An operator mistake the tool explains in one line (a running projector, an unknown name). */
export class ProjectionToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProjectionToolError";
  }
}

export interface ProjectionStatus {
  readonly projection: string;
  readonly partitions: readonly PartitionStatus[];
  /** The topic it reads, when that does not exist (yet): then it has no partitions. */
  readonly missingTopic?: string;
}

/** The consumer group of a running projection (see `ProjectionRuntime`). */
export const projectionGroup = (config: Config, name: string): string => `${config.kafka.topicPrefix}quikchat.projection.${name}`;

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
export async function openProjectionTools(
  config: Config,
  logger: Logger,
  codec: AvroCodec,
  modules: readonly ContextModule<string, unknown>[] = CONTEXT_MODULES,
) {
  const uses = usedDependencies(modules, (module) => settingsOf(config, module));
  const pool = uses.includes("mysql") ? createMysqlPool(config.mysql.url, 2) : undefined;
  const mongo = uses.includes("mongo") ? createMongoClient(config.mongo.url) : undefined;
  const redisConnections: Redis[] = [];
  const redisConnection = (name: string): Redis => {
    const connection = createRedis(config.redis.url, logger, { name: `projection-tools-${name}` });
    redisConnections.push(connection);
    return connection;
  };
  const redis = redisConnection("main");
  const admin: Admin = createKafkajs(config.kafka, logger).admin();
  const prefix = config.kafka.topicPrefix;
  const close = async () => {
    await Promise.allSettled([admin.disconnect(), pool?.end(), mongo?.close(), ...redisConnections.map((connection) => connection.quit())]);
  };
  try {
    await admin.connect();
  } catch (error) {
    await close();
    throw error;
  }
  const registry = new Registry();
  const kit: Omit<ProjectionKit, "pool" | "mongo"> = { config, codec, logger, redis, redisConnection, metrics: projectionMetrics(registry), registry, ports: new Ports() };
  const stores = { ...(pool === undefined ? {} : { pool }), ...(mongo === undefined ? {} : { mongo }) };
  const projections = new Map<string, ContextProjection>();
  for (const module of modules) {
    const settings = settingsOf(config, module);
    for (const projection of module.projections?.(kitFor<ProjectionKit>(module, settings, kit, stores), settings) ?? []) projections.set(projection.name, projection);
  }
  const projectionOf = (name: string): ContextProjection => {
    const projection = projections.get(name);
    if (projection === undefined) throw new ProjectionToolError(`no projection is named ${name}; the projections are ${[...projections.keys()].join(", ")}`);
    return projection;
  };

  /** `name`'s projection and a store of it with its schema, once it is sure that no projector runs it (a `ProjectionToolError` otherwise). */
  const stoppedProjection = async (name: string) => {
    const projection = projectionOf(name);
    const group = projectionGroup(config, name);
    const [described] = (await admin.describeGroups([group])).groups;
    if (described !== undefined && described.members.length > 0) {
      throw new ProjectionToolError(
        `the ${name} projection is running (${described.members.length} member(s) in consumer group ${group}): stop every projector role first`,
      );
    }
    const store = projection.store();
    await store.ensureSchema?.();
    return { projection, store };
  };

  const offsets = async (topic: string): Promise<PartitionOffsets[]> =>
    (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));

  return {
    /** The names of every projection of every context. */
    names: (): string[] => [...projections.keys()],

    /**
     * Checkpoint, high watermark and lag of every partition of every projection; read-only: a
     * missing topic is reported (never created), a read model not created yet has no checkpoints.
     */
    async status(): Promise<ProjectionStatus[]> {
      const topics = new Set(await admin.listTopics());
      const result: ProjectionStatus[] = [];
      for (const [name, projection] of projections) {
        const topic = prefix + projection.topic;
        // Only existing topics are asked about: metadata requests may create topics on brokers that auto-create them.
        if (!topics.has(topic)) {
          result.push({ projection: name, partitions: [], missingTopic: topic });
          continue;
        }
        result.push({ projection: name, partitions: partitionStatus(topic, await offsets(topic), await projection.store().checkpoints(topic)) });
      }
      return result;
    },

    /** Clears `name`'s read model and checkpoints and replays its topic up to the watermarks of now. */
    async rebuild(name: string, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
      const { projection, store } = await stoppedProjection(name);
      const topic = prefix + projection.topic;
      const afterApply = projection.afterRebuild?.bind(projection);
      return rebuildProjection(store, codec, logger.child({ projection: name, rebuild: true }), {
        brokers: config.kafka.brokers,
        clientId: `${config.kafka.clientId}-rebuild-${name}`,
        groupId: `${prefix}quikchat.rebuild.${name}`,
        topic,
        offsets: await offsets(topic),
        ...(afterApply === undefined ? {} : { afterApply }),
        ...(onProgress === undefined ? {} : { onProgress }),
      });
    },

    /**
     * Moves `name` back to the beginning of its topic without replaying it here: clears its read
     * model with its checkpoints (they are committed together, so one cannot go without the other:
     * checkpoints at the beginning over a kept read model would apply every event again to a model
     * that already holds it), and leaves the replay to the projector, which catches up from the
     * beginning when it starts, pushing nothing until it is live. Returns the topic it will replay.
     */
    async reset(name: string): Promise<string> {
      const { projection, store } = await stoppedProjection(name);
      await store.clear();
      return prefix + projection.topic;
    },

    close,
  };
}

export type ProjectionTools = Awaited<ReturnType<typeof openProjectionTools>>;

/** The status as a table, one line per partition, then a line for each missing topic. */
export function formatStatus(statuses: readonly ProjectionStatus[]): string {
  const rows = [["projection", "topic", "partition", "checkpoint", "high watermark", "lag"]];
  for (const { projection, partitions, missingTopic } of statuses) {
    if (missingTopic !== undefined) rows.push([projection, missingTopic, "-", "-", "-", "-"]);
    for (const p of partitions) {
      rows.push([projection, p.topic, String(p.partition), p.checkpoint === undefined ? "-" : String(p.checkpoint), String(p.highWatermark), String(p.lag)]);
    }
  }
  const table = formatTable(rows, (column) => column >= 2);
  const missing = [...new Set(statuses.flatMap(({ missingTopic }) => (missingTopic === undefined ? [] : [missingTopic])))];
  return [...table, ...missing.map((topic) => `${topic}: no such topic (quikchat bootstrap, or start, creates it)`)].join("\n");
}

/** The rebuild's last line: how much, how long, how fast. */
export function formatRebuildResult(name: string, result: RebuildResult): string {
  const rate = result.seconds > 0 ? Math.round(result.applied / result.seconds) : result.applied;
  const skipped = result.undecodable > 0 ? `, ${result.undecodable} undecodable skipped` : "";
  return `${name}: ${result.applied} events applied from ${result.topic} in ${result.seconds.toFixed(1)} s (${rate} events/s${skipped})`;
}
