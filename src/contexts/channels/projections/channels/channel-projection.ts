import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { CHANNELS_PROJECTION, channelChanges, channelDeltaChannel, type ChannelChange } from "./channel-changes.js";
import { MysqlChannelStore } from "./mysql-channel-store.js";

/** The channels read model over `pool`, with the deployment's table prefix. */
export function channelStore(pool: Pool, topicPrefix: string): MysqlChannelStore {
  return new MysqlChannelStore(pool, tablePrefixOf(topicPrefix));
}

/**
 * Projects `quikapp.channels.events` into the channels read model and, after each commit,
 * publishes the records' changes as JSON on {@link channelDeltaChannel}, in offset order (so in
 * seq order per channel). While a partition catches up, only what closes channels (deletions,
 * unsubscriptions) and the newest publication of each channel go out: gateways fill the rest
 * from history.
 */
export async function startChannelProjection(deps: {
  config: CoreConfig;
  codec: AvroCodec;
  pool: Pool;
  redis: Redis;
  logger: Logger;
  metrics?: ProjectionMetrics;
}): Promise<ProjectionRuntime> {
  const { config, codec, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  const store = channelStore(deps.pool, prefix);
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: CHANNELS_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${CHANNELS_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.channels.events],
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    codec,
    deps.logger.child({ projection: CHANNELS_PROJECTION }),
    async (records, { catchingUp }) => {
      const all = records.flatMap((record) => channelChanges(record));
      const changes = catchingUp ? whileCatchingUp(all) : all;
      if (changes.length === 0) return;
      const pipeline = redis.pipeline();
      for (const change of changes) pipeline.publish(channelDeltaChannel(prefix, change.channelId), JSON.stringify(change));
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw new Error("publishing channel changes failed", { cause: failed[0] });
    },
  );
  await runtime.start();
  return runtime;
}

function whileCatchingUp(changes: readonly ChannelChange[]): ChannelChange[] {
  const newest = new Map<string, ChannelChange>();
  const closing: ChannelChange[] = [];
  for (const change of changes) {
    if (change.kind === "deleted" || change.kind === "unsubscribed") closing.push(change);
    if (change.kind === "published") newest.set(change.channelId, change);
  }
  return [...closing, ...newest.values()];
}
