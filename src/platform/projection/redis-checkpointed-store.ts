import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../infra/kafka/record-consumer.js";
import type { RebuildableSink } from "./rebuild.js";

/** How often an apply re-reads and retries after another writer moved the checkpoint under it. */
const MAX_ATTEMPTS = 10;

/** What a store decided for the records at or above its checkpoint. */
export interface CheckpointedPlan<Outcome> {
  /** What the projection announces once the batch committed (see {@link RedisCheckpointedStore.takeOutcome}). */
  readonly outcome: Outcome;
  /** Queues the read-model writes in the MULTI; the new checkpoint is queued after them. */
  readonly write: (transaction: ChainableCommander) => void;
}

/** Where a store keeps its read model and checkpoint in Redis. */
export interface CheckpointedLayout {
  /** The checkpoint hash: `<topic>:<partition>` → next offset to apply. */
  readonly checkpoint: string;
  /** What every key of the read model starts with, the checkpoint's included: `clear` removes them all. */
  readonly keyPrefix: string;
  /** Keys under `keyPrefix` that others write: `clear` leaves them. */
  readonly keep?: readonly string[];
}

/**
 * A read model in Redis with its checkpoint, as a {@link RebuildableSink}; a subclass says how
 * a batch changes it ({@link RedisCheckpointedStore.plan}).
 *
 * `apply` goes through {@link applyUnderCheckpoint}: the writes of the records at or above the
 * checkpoint and the new checkpoint commit in one MULTI/EXEC, guarded by WATCH on the checkpoint
 * hash; if another writer (a projector that has not noticed it lost the partition, a rebuild)
 * changed it meanwhile, the batch is planned again from the new checkpoint. Records below the
 * checkpoint are skipped, so replaying any record changes nothing.
 *
 * Redis may lose everything (a restart without persistence). The store expects the checkpoint
 * of every partition it last told the runtime about ({@link RedisCheckpointedStore.checkpoints})
 * or wrote since; one that has vanished fails the partition's next apply, and
 * {@link RedisCheckpointedStore.verify}, with {@link ReadModelLostError}: the projection runtime
 * then moves its partitions to their checkpoints, now none, i.e. the beginning, and the read
 * model is rebuilt from the log instead of being continued from the middle. A projector
 * restarted earlier therefore notices the loss like one that has been running all along.
 *
 * The store owns `redis`: WATCH holds per connection, and any MULTI/EXEC of another user of the
 * connection would drop it. Applies, reads of the checkpoints and verifications are serialized
 * for the same reason.
 */
export abstract class RedisCheckpointedStore<Outcome> implements RebuildableSink {
  /** `<topic>:<partition>` whose checkpoint this store read (as the runtime's starting point) or wrote since. */
  private readonly expected = new Set<string>();
  private readonly outcomes = new Map<string, { readonly lastOffset: number; readonly outcome: Outcome }>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  protected constructor(
    protected readonly redis: Redis,
    private readonly layout: CheckpointedLayout,
  ) {}

  /** The checkpoints of `topic`; from now on the store expects exactly these (the runtime moves its partitions to them). */
  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.serialized(async () => {
      const checkpoints = checkpointsOf(await this.redis.hgetall(this.layout.checkpoint), topic);
      for (const field of [...this.expected]) if (field.slice(0, field.lastIndexOf(":")) === topic) this.expected.delete(field);
      for (const partition of checkpoints.keys()) this.expected.add(`${topic}:${partition}`);
      return checkpoints;
    });
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    const field = `${topic}:${partition}`;
    return this.serialized(async () => {
      const applied = await applyUnderCheckpoint(this.redis, this.layout.checkpoint, topic, partition, records, (fresh) => this.plan(fresh), {
        expectCheckpoint: this.expected.has(field),
      });
      this.expected.add(field);
      if (applied === undefined) return [];
      this.outcomes.set(field, { lastOffset: applied.fresh[applied.fresh.length - 1]!.offset, outcome: applied.outcome });
      return applied.fresh;
    });
  }

  /** Rejects with {@link ReadModelLostError} when a checkpoint the store expects has vanished (one round trip). */
  verify(): Promise<void> {
    return this.serialized(async () => {
      const fields = [...this.expected];
      if (fields.length === 0) return;
      const stored = await this.redis.hmget(this.layout.checkpoint, ...fields);
      const vanished = fields.find((_, index) => stored[index] === null);
      if (vanished !== undefined) throw new ReadModelLostError(this.layout.checkpoint, vanished);
    });
  }

  /**
   * What the latest apply of these records committed, for the projection to announce. Taken
   * once; undefined when `records` are not what the partition's latest apply returned.
   */
  takeOutcome(records: readonly ConsumedRecord[]): Outcome | undefined {
    const last = records[records.length - 1];
    if (last === undefined) return undefined;
    const id = `${last.topic}:${last.partition}`;
    const stored = this.outcomes.get(id);
    if (stored?.lastOffset !== last.offset) return undefined;
    this.outcomes.delete(id);
    return stored.outcome;
  }

  /** Removes every key of the read model and the checkpoints, except the layout's `keep`. */
  async clear(): Promise<void> {
    await this.queue;
    const pattern = `${escapeGlob(this.layout.keyPrefix)}*`;
    const keep = new Set(this.layout.keep);
    let cursor = "0";
    do {
      const [next, found] = await this.redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      const doomed = found.filter((key) => !keep.has(key));
      if (doomed.length > 0) await this.redis.unlink(...doomed);
    } while (cursor !== "0");
    this.outcomes.clear();
    this.expected.clear();
  }

  /** Waits for the apply under way, then quits the store's connection; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.redis.quit();
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads what the batch needs (over `this.redis`, before the MULTI) and decides its writes.
   * `fresh` are the records at or above the checkpoint; called again with fewer of them when
   * another writer moved the checkpoint, so it must not keep anything between calls.
   */
  protected abstract plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<Outcome>>;
}

/**
 * Applies a batch of one partition to a Redis read model whose checkpoint is the hash
 * `checkpointKey` (`<topic>:<partition>` → next offset): WATCHes the hash, reads the checkpoint,
 * lets `plan` read what it needs and decide the writes of the records at or above it, and
 * queues those writes and the new checkpoint in one MULTI/EXEC. When another writer changed the
 * hash meanwhile, EXEC does nothing and the whole is tried again from the new checkpoint; so it
 * is when the connection was re-established since the WATCH, which went with the old one (a
 * Redis restart could otherwise let a batch planned before it write its checkpoint into the
 * emptied Redis).
 * Resolves with the records applied and the plan's outcome, or undefined when every record was
 * below the checkpoint. `redis` must not be shared with other users of MULTI/EXEC or WATCH.
 * With `expectCheckpoint`, a missing checkpoint throws {@link ReadModelLostError}.
 */
export async function applyUnderCheckpoint<T>(
  redis: Redis,
  checkpointKey: string,
  topic: string,
  partition: number,
  records: readonly ConsumedRecord[],
  plan: (fresh: readonly ConsumedRecord[]) => Promise<CheckpointedPlan<T>>,
  options: { readonly expectCheckpoint?: boolean } = {},
): Promise<{ readonly fresh: readonly ConsumedRecord[]; readonly outcome: T } | undefined> {
  const field = `${topic}:${partition}`;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    await redis.watch(checkpointKey);
    const watching = redis.stream;
    try {
      const stored = await redis.hget(checkpointKey, field);
      if (stored === null && options.expectCheckpoint === true) throw new ReadModelLostError(checkpointKey, field);
      const from = Number(stored ?? 0);
      const fresh = records.filter((record) => record.offset >= from);
      if (fresh.length === 0) {
        await redis.unwatch();
        return undefined;
      }
      const { outcome, write } = await plan(fresh);
      const transaction = redis.multi();
      write(transaction);
      transaction.hset(checkpointKey, field, String(fresh[fresh.length - 1]!.offset + 1));
      // Checked in the same tick as EXEC is sent: ioredis would queue it for the next connection, unwatched.
      if (redis.status !== "ready" || redis.stream !== watching) continue;
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

/** A checkpoint written earlier is gone: Redis lost the read model, which must be rebuilt from the log. */
export class ReadModelLostError extends Error {
  constructor(checkpointKey: string, field: string) {
    super(`the checkpoint of ${field} vanished from ${checkpointKey} (Redis lost its data?): replaying the partition from the beginning`);
    this.name = "ReadModelLostError";
  }
}

/** `<topic>:<partition>` → next offset, for the partitions of `topic`. */
function checkpointsOf(hash: Readonly<Record<string, string>>, topic: string): Map<number, number> {
  const checkpoints = new Map<number, number>();
  for (const [field, next] of Object.entries(hash)) {
    const separator = field.lastIndexOf(":");
    if (field.slice(0, separator) === topic) checkpoints.set(Number(field.slice(separator + 1)), Number(next));
  }
  return checkpoints;
}

/** `text` with Redis glob characters escaped, to match it literally in SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
