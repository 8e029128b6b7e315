import type { Redis } from "ioredis";
import type { Logger } from "../../../infra/log/logger.js";

/** How long a joined socket's seat lasts unless its gateway renews it (a crashed gateway's seats free themselves). */
const SEAT_LEASE_MS = 60_000;

/**
 * Admits a socket to a channel or not: atomically drops expired seats, keeps a seat already held,
 * refuses when `max` seats are taken, else takes one. KEYS[1]: the channel's seats (sorted set:
 * connection id → lease end). ARGV: now, connection id, lease end, max, key ttl.
 */
const ADMIT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/**
 * `maxSubscribers` across gateways: the sockets joined to a channel hold seats in Redis, taken at
 * join and given back at leave. Each gateway renews its seats every third of the lease, so the
 * seats of a gateway that died without leaving expire within a lease. Admission control, not a
 * fact of the domain: it never goes through the log.
 */
export class ChannelAdmission {
  private readonly held = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.renew(), SEAT_LEASE_MS / 3);
    this.timer.unref();
  }

  /** Takes a seat of `channelId` for `connectionId` unless `max` are taken; resolves with the function that gives it back, or undefined when full. */
  async admit(channelId: string, connectionId: string, max: number): Promise<(() => void) | undefined> {
    const key = this.keyOf(channelId);
    const now = this.now();
    const admitted = await this.redis.eval(ADMIT, 1, key, now, connectionId, now + SEAT_LEASE_MS, max, SEAT_LEASE_MS * 2);
    if (admitted !== 1) return undefined;
    const seats = this.held.get(key) ?? new Set<string>();
    this.held.set(key, seats);
    seats.add(connectionId);
    return () => {
      seats.delete(connectionId);
      if (seats.size === 0) this.held.delete(key);
      this.redis.zrem(key, connectionId).catch((error: unknown) => this.logger.warn({ err: error, channelId }, "giving back a channel seat failed"));
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private keyOf(channelId: string): string {
    return `${this.topicPrefix}channel:{${channelId}}:seats`;
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const until = this.now() + SEAT_LEASE_MS;
    const pipeline = this.redis.pipeline();
    for (const [key, seats] of this.held) {
      for (const connectionId of seats) pipeline.zadd(key, until, connectionId);
      pipeline.pexpire(key, SEAT_LEASE_MS * 2);
    }
    await pipeline.exec().catch((error: unknown) => this.logger.warn({ err: error }, "renewing channel seats failed"));
  }
}
