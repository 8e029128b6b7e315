import type { Redis } from "ioredis";
import { redisScript } from "../../infra/redis/redis-script.js";

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

/** A budget's window. */
const WINDOW_MS = 60_000;

/**
 * Counts one event against two windows (the event's budget, then the user's total) in one round
 * trip: `[count, ms left]` of each. A window starts with its first event.
 */
const TAKE = redisScript(`
local result = {}
for i = 1, 2 do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  local left = redis.call('PTTL', KEYS[i])
  if left < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[1]); left = tonumber(ARGV[1]) end
  result[2 * i - 1] = count
  result[2 * i] = left
end
return result
`);

/** Gives one event back to both windows, where they still exist. */
const GIVE_BACK = redisScript(`
for i = 1, 2 do
  if redis.call('DECR', KEYS[i]) < 0 then redis.call('DEL', KEYS[i]) end
end
return 0
`);

/** A window counted in this process: the limiter's fallback while Redis cannot be reached. */
interface LocalWindow {
  count: number;
  readonly endsAt: number;
}

/** Local windows kept at most; expired ones are dropped first, then the oldest. */
const MAX_LOCAL_WINDOWS = 100_000;

/**
 * Fixed one-minute windows counted in Redis, so a user's budget holds across gateways: one
 * script per event charges its budget and the user's total in one round trip. While Redis is
 * unreachable each process counts in memory instead, rather than letting everything through or
 * refusing everything. Keys hold the user in braces, so a user's windows share a cluster slot.
 */
export function createRedisActionRateLimiter(redis: Redis, limits: RateLimits, keyPrefix = "quikchat:ratelimit"): ActionRateLimiter {
  const points = new Map<string, number>([
    ["join", limits.joinsPerMinute],
    ["event", limits.eventsPerMinute],
  ]);
  for (const budget of limits.budgets ?? []) {
    if (points.has(budget.name) || budget.name === "total") throw new Error(`two rate-limit budgets are named ${budget.name}`);
    points.set(budget.name, budget.perMinute);
  }
  const keys = (userId: string, event: string, name: string): [string, string] => [
    `${keyPrefix}:${name}:{${userId}}:${event}`,
    `${keyPrefix}:total:{${userId}}`,
  ];
  const local = new Map<string, LocalWindow>();
  const takeLocally = (key: string, now: number): [number, number] => {
    let window = local.get(key);
    if (window === undefined || window.endsAt <= now) {
      if (local.size >= MAX_LOCAL_WINDOWS) forgetWindows(local, now);
      local.set(key, (window = { count: 0, endsAt: now + WINDOW_MS }));
    }
    window.count += 1;
    return [window.count, window.endsAt - now];
  };
  const take = async (budgetKey: string, totalKey: string): Promise<number[]> => {
    if (redis.status === "ready") {
      try {
        return (await TAKE.run(redis, [budgetKey, totalKey], [WINDOW_MS])) as number[];
      } catch {
        // Counted locally below.
      }
    }
    const now = Date.now();
    return [...takeLocally(budgetKey, now), ...takeLocally(totalKey, now)];
  };

  return {
    async consume(userId, event) {
      const name = rateLimitOf(limits, event);
      const [budgetKey, totalKey] = keys(userId, event, name);
      const [budgetCount = 0, budgetLeft = 0, totalCount = 0, totalLeft = 0] = await take(budgetKey, totalKey);
      const refusals = [
        ...(budgetCount > points.get(name)! ? [{ limit: name, left: budgetLeft }] : []),
        ...(totalCount > limits.totalPerMinute ? [{ limit: "total", left: totalLeft }] : []),
      ];
      if (refusals.length === 0) return { allowed: true };
      const longest = refusals.reduce((a, b) => (b.left > a.left ? b : a));
      return { allowed: false, limit: longest.limit, retryAfterMs: Math.max(1, Math.ceil(longest.left)) };
    },
    async refund(userId, event) {
      const pair = keys(userId, event, rateLimitOf(limits, event));
      for (const key of pair) {
        const window = local.get(key);
        if (window !== undefined && window.count > 0) window.count -= 1;
      }
      if (redis.status === "ready") await GIVE_BACK.run(redis, pair, []).catch(() => undefined);
    },
  };
}

/** Drops expired windows; when none had expired, the oldest tenth. */
function forgetWindows(local: Map<string, LocalWindow>, now: number): void {
  for (const [key, window] of local) if (window.endsAt <= now) local.delete(key);
  if (local.size < MAX_LOCAL_WINDOWS) return;
  let drop = Math.ceil(MAX_LOCAL_WINDOWS / 10);
  for (const key of local.keys()) {
    if (drop-- <= 0) break;
    local.delete(key);
  }
}
