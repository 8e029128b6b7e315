import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

/** Which budget an event draws from; also the metric label (a bounded set). */
export type RateLimitName = "message" | "typing" | "join" | "event" | "total";

export type RateDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limit: RateLimitName; readonly retryAfterMs: number };

/**
 * Per-user budgets for client events. Each event name has its own budget of its class
 * (`user:event`), and all events of a user share a total, so inventing event names buys nothing.
 */
export interface ActionRateLimiter {
  /** Counts one `event` of `userId` and says whether it may proceed. Never rejects. */
  consume(userId: string, event: string): Promise<RateDecision>;
}

export interface RateLimits {
  readonly messagesPerMinute: number;
  readonly typingPerMinute: number;
  readonly joinsPerMinute: number;
  readonly eventsPerMinute: number;
  readonly totalPerMinute: number;
}

const CLASS_OF_EVENT: Readonly<Record<string, Exclude<RateLimitName, "total">>> = {
  "message:send": "message",
  new_message: "message",
  typing: "typing",
  "typing:start": "typing",
  "typing:stop": "typing",
  typing_start: "typing",
  typing_stop: "typing",
  phx_join: "join",
};

/** The class of budget `event` draws from. */
export function rateLimitOf(event: string): Exclude<RateLimitName, "total"> {
  return CLASS_OF_EVENT[event] ?? "event";
}

/**
 * Fixed one-minute windows counted in Redis, so a user's budget holds across gateways. While
 * Redis is unreachable each process counts in memory instead (rate-limiter-flexible's insurance
 * limiter) rather than letting everything through or refusing everything.
 */
export function createRedisActionRateLimiter(redis: Redis, limits: RateLimits, keyPrefix = "quikchat:ratelimit"): ActionRateLimiter {
  const limiter = (name: RateLimitName, points: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}:${name}`,
      points,
      duration: 60,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${keyPrefix}:${name}`, points, duration: 60 }),
    });
  const byClass = {
    message: limiter("message", limits.messagesPerMinute),
    typing: limiter("typing", limits.typingPerMinute),
    join: limiter("join", limits.joinsPerMinute),
    event: limiter("event", limits.eventsPerMinute),
  };
  const total = limiter("total", limits.totalPerMinute);

  const consume = async (name: RateLimitName, store: RateLimiterRedis, key: string): Promise<RateDecision> => {
    try {
      await store.consume(key);
      return { allowed: true };
    } catch (refusal) {
      // Anything but a RateLimiterRes is a store failure the insurance limiter did not absorb: let the event through.
      if (!(refusal instanceof RateLimiterRes)) return { allowed: true };
      return { allowed: false, limit: name, retryAfterMs: Math.max(1, Math.ceil(refusal.msBeforeNext)) };
    }
  };

  return {
    async consume(userId, event) {
      const name = rateLimitOf(event);
      const decisions = await Promise.all([consume(name, byClass[name], `${userId}:${event}`), consume("total", total, userId)]);
      const refusals = decisions.filter((decision) => !decision.allowed);
      if (refusals.length === 0) return { allowed: true };
      return refusals.reduce((longest, refusal) => (refusal.retryAfterMs > longest.retryAfterMs ? refusal : longest));
    },
  };
}
