import type { Redis } from "ioredis";
import type { MongoClient } from "mongodb";
import type { Pool } from "mysql2/promise";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { tablePrefixOf } from "../../../../infra/mysql/mysql-pool.js";
import type { HistoryStoreKind } from "../../config.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { HISTORY_PROJECTION, historyDeltas } from "./history-changes.js";
import { conversationDeltaChannel, type ConversationDelta, type HistoryStore } from "./history-port.js";
import { MongoHistoryStore } from "./mongo-history-store.js";
import { MysqlHistoryStore } from "./mysql-history-store.js";

/**
 * The history store `HISTORY_STORE` names, over the caller's connections (which it does not
 * close). Throws when the chosen store's connection is missing.
 */
export function createHistoryStore(
  kind: HistoryStoreKind,
  topicPrefix: string,
  connections: { readonly pool?: Pool; readonly mongo?: MongoClient },
): HistoryStore {
  const prefix = tablePrefixOf(topicPrefix);
  switch (kind) {
    case "mysql":
      if (connections.pool === undefined) throw new Error("HISTORY_STORE=mysql needs a MySQL pool");
      return new MysqlHistoryStore(connections.pool, prefix);
    case "mongo":
      if (connections.mongo === undefined) throw new Error("HISTORY_STORE=mongo needs a MongoDB client");
      return new MongoHistoryStore(connections.mongo.db(), prefix);
    default: {
      const unknown: never = kind;
      throw new Error(`unknown history store ${String(unknown)}`);
    }
  }
}

/**
 * Projects `quikapp.messages.events` into `store` (after creating its schema) and, after each
 * commit, publishes the records' {@link ConversationDelta}s as JSON on
 * {@link conversationDeltaChannel}, in offset order, so in seq order per conversation. While a
 * partition is catching up (a rebuild or a long downtime) nothing is published: sockets are not
 * re-pushed old messages, and gateways fill any gap from history.
 */
export async function startHistoryProjection(deps: {
  config: CoreConfig;
  codec: AvroCodec;
  store: HistoryStore;
  redis: Redis;
  logger: Logger;
  metrics?: ProjectionMetrics;
}): Promise<ProjectionRuntime> {
  const { config, codec, store, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: HISTORY_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${HISTORY_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.messages.events],
      // Both stores take overlapping applies of different partitions (a MySQL pool, a MongoDB client).
      parallelPartitions: true,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    codec,
    deps.logger.child({ projection: HISTORY_PROJECTION }),
    async (records, { catchingUp }) => {
      const all = records.flatMap((record) => historyDeltas(record));
      const deltas = catchingUp ? newestMessagePerConversation(all) : all;
      if (deltas.length === 0) return;
      // One pipeline keeps the order and costs one round trip.
      const pipeline = redis.pipeline();
      for (const delta of deltas) pipeline.publish(conversationDeltaChannel(prefix, delta.conversationId), JSON.stringify(delta));
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw new Error("publishing history deltas failed", { cause: failed[0] });
    },
  );
  await runtime.start();
  return runtime;
}

/**
 * While a partition catches up (after a restart or a long stall), sockets must not be flooded
 * with every old delta, yet a live client must learn that history moved on: only the newest
 * new message of each conversation goes out, and gateways fill what lies before it from history
 * (gap repair). Edits, reactions and receipts of that stretch reach clients through history.
 */
function newestMessagePerConversation(deltas: readonly ConversationDelta[]): ConversationDelta[] {
  const newest = new Map<string, Extract<ConversationDelta, { kind: "message_new" }>>();
  for (const delta of deltas) {
    if (delta.kind !== "message_new") continue;
    const current = newest.get(delta.conversationId);
    if (current === undefined || current.seq < delta.seq) newest.set(delta.conversationId, delta);
  }
  return [...newest.values()];
}
