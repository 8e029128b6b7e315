import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

/**
 * A per-user budget of some client events, per minute: each event name counts apart (a user
 * sending 120 messages may still type). Contexts declare the budgets of their own events; every
 * other event draws from the platform's `event` budget, joins from `join`, and all of a user's
 * events together from `total`. The name is also the metric label (a bounded set).
 */
export interface RateLimitBudget {
  readonly name: string;
  readonly perMinute: number;
  /** The client events (push names, `phx_join`) that draw from it. */
  readonly events: readonly string[];
}

export type RateDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limit: string; readonly retryAfterMs: number };

/**
 * Per-user budgets for client events. Each event name has its own budget of its class
 * (`user:event`), and all events of a user share a total, so inventing event names buys nothing.
 */
export interface ActionRateLimiter {
  /** Counts one `event` of `userId` and says whether it may proceed. Never rejects. */
  consume(userId: string, event: string): Promise<RateDecision>;
  /**
   * Gives back what {@link consume} charged for one allowed `event` of `userId` (to its budget
   * and to the total), for an event that turned out to cost nothing. Best effort: a refund lost
   * to a store failure leaves the charge. Never rejects.
   */
  refund(userId: string, event: string): Promise<void>;
}

/** The platform's budgets, with the contexts' own (`budgets`) in front of them. */
export interface RateLimits {
  readonly joinsPerMinute: number;
  /** Any event without a budget of its own, each. */
  readonly eventsPerMinute: number;
  /** All events of a user together. */
  readonly totalPerMinute: number;
  readonly budgets?: readonly RateLimitBudget[];
}

/** The budget `event` draws from (not counting the total): a context's, `join` or `event`. */
export function rateLimitOf(limits: RateLimits, event: string): string {
  if (event === "phx_join") return "join";
  return limits.budgets?.find((budget) => budget.events.includes(event))?.name ?? "event";
}

/**
 * Fixed one-minute windows counted in Redis, so a user's budget holds across gateways. While
 * Redis is unreachable each process counts in memory instead (rate-limiter-flexible's insurance
 * limiter) rather than letting everything through or refusing everything.
 */
export function createRedisActionRateLimiter(redis: Redis, limits: RateLimits, keyPrefix = "quikchat:ratelimit"): ActionRateLimiter {
  const limiter = (name: string, points: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}:${name}`,
      points,
      duration: 60,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${keyPrefix}:${name}`, points, duration: 60 }),
    });
  const byName = new Map<string, RateLimiterRedis>([
    ["join", limiter("join", limits.joinsPerMinute)],
    ["event", limiter("event", limits.eventsPerMinute)],
  ]);
  for (const budget of limits.budgets ?? []) {
    if (byName.has(budget.name) || budget.name === "total") throw new Error(`two rate-limit budgets are named ${budget.name}`);
    byName.set(budget.name, limiter(budget.name, budget.perMinute));
  }
  const total = limiter("total", limits.totalPerMinute);

  const consume = async (name: string, store: RateLimiterRedis, key: string): Promise<RateDecision> => {
    try {
      await store.consume(key);
      return { allowed: true };
    } catch (refusal) {
      // Anything but a RateLimiterRes is a store failure the insurance limiter did not absorb: let the event through.
      if (!(refusal instanceof RateLimiterRes)) return { allowed: true };
      return { allowed: false, limit: name, retryAfterMs: Math.max(1, Math.ceil(refusal.msBeforeNext)) };
    }
  };

  const reward = async (store: RateLimiterRedis, key: string): Promise<void> => {
    await store.reward(key).catch(() => undefined);
  };

  return {
    async consume(userId, event) {
      const name = rateLimitOf(limits, event);
      const decisions = await Promise.all([consume(name, byName.get(name)!, `${userId}:${event}`), consume("total", total, userId)]);
      const refusals = decisions.filter((decision) => !decision.allowed);
      if (refusals.length === 0) return { allowed: true };
      return refusals.reduce((longest, refusal) => (refusal.retryAfterMs > longest.retryAfterMs ? refusal : longest));
    },
    async refund(userId, event) {
      await Promise.all([reward(byName.get(rateLimitOf(limits, event))!, `${userId}:${event}`), reward(total, userId)]);
    },
  };
}
