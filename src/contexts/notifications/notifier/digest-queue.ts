import type { Redis } from "ioredis";
import type { DigestItem } from "./digest-template.js";

/** The notifier ledger's target of a mail (as the aggregate's: a mail has no device). */
export const MAIL_TARGET = "email:";

/** Removes the mailed items; when others arrived meanwhile, their digest is due `delay` from now, else the user leaves the schedule. */
const SETTLE = `
redis.call('HDEL', KEYS[1], unpack(ARGV, 3))
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
end
return 1`;

/**
 * The digests waiting in Redis (`<p>` = topic prefix), kept with the notifier's ledger so that a
 * restarted notifier finds them:
 * - `<p>quikchat:digest:due`, a sorted set: each user with pending items, scored by when their
 *   digest is due (the first pending item's arrival plus the delay; later items join that digest);
 * - `<p>quikchat:digest:user:<userId>`, a hash: the user's pending items by notification id (JSON);
 * - `<p>quikchat:digest:user:<userId>:lock`: the notifier mailing that user's digest now, with a lease,
 *   so that two notifiers never mail the same digest at once.
 * Items stay until mailed (or read): nothing here expires but the lock.
 */
export class DigestQueue {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get due(): string {
    return `${this.prefix}quikchat:digest:due`;
  }

  private items(userId: string): string {
    return `${this.prefix}quikchat:digest:user:${userId}`;
  }

  /** Adds an item to the user's digest, due at `dueAt` unless it was due earlier; idempotent. Resolves once Redis has it. */
  async hold(userId: string, item: DigestItem, dueAt: number): Promise<void> {
    await this.redis.multi().hset(this.items(userId), item.notificationId, JSON.stringify(item)).zadd(this.due, "NX", dueAt, userId).exec();
  }

  /** Users whose digest is due at `now`, most overdue first, at most `limit`. */
  async dueUsers(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.due, "-inf", now, "LIMIT", 0, limit);
  }

  /** The user's pending items. */
  async pending(userId: string): Promise<DigestItem[]> {
    const stored = await this.redis.hvals(this.items(userId));
    return stored.map((json) => JSON.parse(json) as DigestItem);
  }

  /** Takes the user's digest for `leaseMs`; false when another notifier has it. */
  async claim(userId: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.items(userId)}:lock`, owner, "PX", leaseMs, "NX")) === "OK";
  }

  /** Gives the digest back (only if still ours). */
  async release(userId: string, owner: string): Promise<void> {
    const key = `${this.items(userId)}:lock`;
    if ((await this.redis.get(key)) === owner) await this.redis.del(key);
  }

  /** Drops items mailed or read; the user's digest is due again at `nextDueAt` if others remain. */
  async settle(userId: string, notificationIds: readonly string[], nextDueAt: number): Promise<void> {
    if (notificationIds.length === 0) return;
    await this.redis.eval(SETTLE, 2, this.items(userId), this.due, userId, String(nextDueAt), ...notificationIds);
  }
}
