import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { resultsOf } from "../../../../infra/redis/redis-replies.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { foldPresence, type PresenceOutcome } from "./presence-fold.js";
import { presenceUserOf, type UserPresenceState } from "./presence-evolve.js";
import { userStateFromRedis, type RedisWrite } from "./presence-redis-plan.js";
import { presenceKeys } from "./presence-model.js";

/**
 * The presence read model in Redis (layout: `presence-model.ts`), with its checkpoint
 * ({@link RedisCheckpointedStore}: one MULTI/EXEC per batch under WATCH, its own connection,
 * serialized applies).
 *
 * A batch reads the touched users and folds the records ({@link foldPresence}); its outcome
 * holds the diffs, updates and visibility changes to announce. `clear` leaves
 * `presence:gateways`, which belongs to the gateways.
 *
 * A gateway that a batch gives a connection and that is missing from `presence:gateways` is
 * added to it, as alive at the time of the batch (`now`): Redis may have lost the set with the
 * read model, and a rebuild from the log then restores the connections of a gateway killed
 * before the loss, which will never beat again. So listed, it is swept once silent for
 * `PRESENCE_GATEWAY_STALE_MS` like any dead gateway, instead of its users staying online for
 * good; a live gateway's own beats are left as they are.
 */
export class RedisPresenceStore extends RedisCheckpointedStore<PresenceOutcome> {
  private readonly keys: ReturnType<typeof presenceKeys>;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** Epoch milliseconds; default `Date.now`. */
    private readonly now: () => number = Date.now,
  ) {
    const keys = presenceKeys(prefix);
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: `${prefix}presence:`, keep: [keys.gateways] });
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<PresenceOutcome>> {
    const outcome = foldPresence(this.prefix, await this.load(fresh), fresh);
    const now = this.now();
    return {
      outcome,
      write: (transaction) => {
        outcome.writes.forEach((write) => queue(transaction, write));
        for (const gatewayId of outcome.gateways) transaction.zadd(this.keys.gateways, "NX", now, gatewayId);
      },
    };
  }

  /** The current state of every user the records are about (two round trips). */
  private async load(records: readonly ConsumedRecord[]): Promise<Map<string, UserPresenceState>> {
    const userIds = [...new Set(records.map((record) => presenceUserOf(record)).filter((id) => id !== undefined))];
    const users = new Map<string, UserPresenceState>();
    if (userIds.length === 0) return users;
    const reads = this.redis.pipeline();
    for (const userId of userIds) reads.hgetall(this.keys.user(userId)).hgetall(this.keys.connections(userId));
    const hashes = resultsOf(await reads.exec()) as Record<string, string>[];
    const raw = userIds.map((userId, index) => ({ userId, user: hashes[2 * index]!, connections: hashes[2 * index + 1]! }));

    const metaReads = this.redis.pipeline();
    const withMetas = raw.filter(({ user, connections }) => user.workspace_id !== undefined && Object.keys(connections).length > 0);
    for (const { user, connections } of withMetas) metaReads.hmget(this.keys.metas(user.workspace_id!), ...Object.keys(connections));
    const metaValues = withMetas.length > 0 ? (resultsOf(await metaReads.exec()) as (string | null)[][]) : [];
    const metasByUser = new Map(withMetas.map(({ userId, connections }, index) => [userId, zip(Object.keys(connections), metaValues[index]!)]));

    for (const { userId, user, connections } of raw) users.set(userId, userStateFromRedis(userId, user, connections, metasByUser.get(userId)));
    return users;
  }
}

function queue(transaction: ChainableCommander, write: RedisWrite): void {
  switch (write.op) {
    case "del":
      transaction.del(write.key);
      return;
    case "hset":
      transaction.hset(write.key, write.fields);
      return;
    case "hdel":
      transaction.hdel(write.key, ...write.fields);
      return;
    case "zadd":
      transaction.zadd(write.key, write.score, write.member);
      return;
    case "zrem":
      transaction.zrem(write.key, write.member);
      return;
    default: {
      const unknown: never = write;
      throw new Error(`unknown write ${JSON.stringify(unknown)}`);
    }
  }
}

function zip(keys: readonly string[], values: readonly (string | null)[]): Record<string, string | null> {
  return Object.fromEntries(keys.map((key, index) => [key, values[index] ?? null]));
}
