import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../infra/kafka/record-consumer.js";
import type { RebuildableSink } from "../rebuild.js";
import {
  foldPresence,
  presenceUserOf,
  userStateFromRedis,
  type PresenceOutcome,
  type RedisWrite,
  type UserPresenceState,
} from "./presence-changes.js";
import { presenceKeys } from "./presence-model.js";

/** How often an apply re-reads and retries after another writer moved the checkpoint under it. */
const MAX_ATTEMPTS = 10;

/**
 * The presence read model in Redis (layout: `presence-model.ts`), with its checkpoint.
 *
 * `apply` reads the touched users, folds the records ({@link foldPresence}) and writes the
 * result and the checkpoint in one MULTI/EXEC, guarded by WATCH on the checkpoint hash: if
 * another writer (a projector that has not noticed it lost the partition, a rebuild) changed
 * it meanwhile, the batch is read and folded again from the new checkpoint. Records below the
 * checkpoint are skipped, so replaying any record changes nothing.
 *
 * The store owns `redis`: WATCH holds per connection, and any MULTI/EXEC of another user of
 * the connection would drop it. Applies are serialized for the same reason.
 */
export class RedisPresenceStore implements RebuildableSink {
  private readonly keys: ReturnType<typeof presenceKeys>;
  private readonly outcomes = new Map<string, { readonly lastOffset: number; readonly outcome: PresenceOutcome }>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.keys = presenceKeys(prefix);
  }

  async checkpoints(topic: string): Promise<Map<number, number>> {
    return checkpointsOf(await this.redis.hgetall(this.keys.checkpoint), topic);
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    const run = this.queue.then(() => this.applyNow(topic, partition, records));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * What the latest apply of these records committed: the diffs, updates and visibility changes
   * to announce. Taken once; undefined when `records` are not what the partition's latest apply
   * returned.
   */
  takeOutcome(records: readonly ConsumedRecord[]): PresenceOutcome | undefined {
    const last = records[records.length - 1];
    if (last === undefined) return undefined;
    const id = `${last.topic}:${last.partition}`;
    const stored = this.outcomes.get(id);
    if (stored?.lastOffset !== last.offset) return undefined;
    this.outcomes.delete(id);
    return stored.outcome;
  }

  /** Removes every key of the read model and the checkpoints; `presence:gateways` belongs to the gateways and stays. */
  async clear(): Promise<void> {
    await this.queue;
    const pattern = `${escapeGlob(this.prefix)}presence:*`;
    let cursor = "0";
    do {
      const [next, found] = await this.redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      const doomed = found.filter((key) => key !== this.keys.gateways);
      if (doomed.length > 0) await this.redis.unlink(...doomed);
    } while (cursor !== "0");
    this.outcomes.clear();
  }

  /** Waits for the apply under way, then quits the store's connection; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.redis.quit();
  }

  private async applyNow(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    const applied = await applyUnderCheckpoint(this.redis, this.keys.checkpoint, topic, partition, records, async (fresh) => {
      const outcome = foldPresence(this.prefix, await this.load(fresh), fresh);
      return { outcome, write: (transaction) => outcome.writes.forEach((write) => queue(transaction, write)) };
    });
    if (applied === undefined) return [];
    this.outcomes.set(`${topic}:${partition}`, { lastOffset: applied.fresh[applied.fresh.length - 1]!.offset, outcome: applied.outcome });
    return applied.fresh;
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

/**
 * Applies a batch of one partition to a Redis read model whose checkpoint is the hash
 * `checkpointKey` (`<topic>:<partition>` → next offset): WATCHes the hash, reads the checkpoint,
 * lets `plan` read what it needs and decide the writes of the records at or above it, and
 * queues those writes and the new checkpoint in one MULTI/EXEC. When another writer changed the
 * hash meanwhile, EXEC does nothing and the whole is tried again from the new checkpoint.
 * Resolves with the records applied and the plan's outcome, or undefined when every record was
 * below the checkpoint. `redis` must not be shared with other users of MULTI/EXEC or WATCH.
 */
export async function applyUnderCheckpoint<T>(
  redis: Redis,
  checkpointKey: string,
  topic: string,
  partition: number,
  records: readonly ConsumedRecord[],
  plan: (fresh: readonly ConsumedRecord[]) => Promise<{ readonly outcome: T; readonly write: (transaction: ChainableCommander) => void }>,
): Promise<{ readonly fresh: readonly ConsumedRecord[]; readonly outcome: T } | undefined> {
  const field = `${topic}:${partition}`;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    await redis.watch(checkpointKey);
    try {
      const from = Number((await redis.hget(checkpointKey, field)) ?? 0);
      const fresh = records.filter((record) => record.offset >= from);
      if (fresh.length === 0) {
        await redis.unwatch();
        return undefined;
      }
      const { outcome, write } = await plan(fresh);
      const transaction = redis.multi();
      write(transaction);
      transaction.hset(checkpointKey, field, String(fresh[fresh.length - 1]!.offset + 1));
      const results = await transaction.exec();
      if (results === null) continue; // the checkpoint moved: read and plan again
      const failed = results.find(([error]) => error !== null);
      if (failed) throw new Error(`writing the batch of ${field} failed`, { cause: failed[0] });
      return { fresh, outcome };
    } catch (error) {
      await redis.unwatch().catch(() => undefined);
      throw error;
    }
  }
  throw new Error(`the checkpoint of ${field} in ${checkpointKey} kept changing over ${MAX_ATTEMPTS} attempts`);
}

/** `<topic>:<partition>` → next offset, for the partitions of `topic`. */
export function checkpointsOf(hash: Readonly<Record<string, string>>, topic: string): Map<number, number> {
  const checkpoints = new Map<number, number>();
  for (const [field, next] of Object.entries(hash)) {
    const separator = field.lastIndexOf(":");
    if (field.slice(0, separator) === topic) checkpoints.set(Number(field.slice(separator + 1)), Number(next));
  }
  return checkpoints;
}

/** The replies of a pipeline, or its first error. */
export function resultsOf(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error("redis pipeline discarded");
  const failed = results.find(([error]) => error !== null);
  if (failed) throw new Error("redis read failed", { cause: failed[0] });
  return results.map(([, value]) => value);
}

/** `text` with Redis glob characters escaped, to match it literally in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

function zip(keys: readonly string[], values: readonly (string | null)[]): Record<string, string | null> {
  return Object.fromEntries(keys.map((key, index) => [key, values[index] ?? null]));
}
