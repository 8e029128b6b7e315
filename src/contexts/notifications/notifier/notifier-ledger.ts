import type { Redis } from "ioredis";
import { redisScript } from "../../../infra/redis/redis-script.js";
import type { SendOutcome } from "./send-outcome.js";

/**
 * How long the notifier remembers what it did with a notification: far longer than any
 * notification stays unconsumed (a crashed notifier restarts within minutes), short enough that
 * the ledger stays small.
 */
const KEEP_SECONDS = 7 * 24 * 3600;

/** Where a target's claim is kept, beside its outcome in the notification's hash. */
const claimField = (target: string) => `claim:${target}`;

/**
 * KEYS[1] the notification's hash; ARGV target, owner, lease (ms), keep (s). Answers
 * `{"done", outcome}` when the target's outcome is known, `{"held", remaining ms}` while another
 * owner's claim is live, else `{"claimed"}` after (re)writing the claim as the owner's until
 * Redis's now + lease. Redis's own clock, so notifiers on different hosts agree.
 */
const CLAIM = redisScript(`
local done = redis.call('HGET', KEYS[1], ARGV[1])
if done then return {'done', done} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local field = 'claim:' .. ARGV[1]
local holder = redis.call('HGET', KEYS[1], field)
if holder then
  local owner, untilMs = string.match(holder, '^(.*)|(%d+)$')
  if owner ~= ARGV[2] and tonumber(untilMs) > now then return {'held', tostring(tonumber(untilMs) - now)} end
end
redis.call('HSET', KEYS[1], field, ARGV[2] .. '|' .. tostring(now + tonumber(ARGV[3])))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {'claimed'}
`);

/** What {@link NotifierLedger.claim} found. */
export type Claim =
  | { readonly kind: "done"; readonly outcome: SendOutcome }
  | { readonly kind: "held"; readonly remainingMs: number }
  | { readonly kind: "claimed" };

/**
 * The notifiers' shared record of each push, in Redis: one hash per notification
 * (`<prefix>quikchat:notifier:<userId>:<notificationId>`) with, per target (a device id, or
 * `email:` for a mail), the outcome once the provider answered, and while a notifier is sending,
 * its claim.
 *
 * - An outcome is written the moment the provider answered and before the record command is
 *   produced: on redelivery (a restart, a rebalance) a notifier finds it and records again, without
 *   sending again.
 * - A claim is a lease: a notifier sends only while it holds the target's claim, and renews it
 *   before each attempt and each wait between attempts. Two notifiers that both hold a batch (the
 *   old owner of a partition still sending when a rebalance hands it to a new one) therefore never
 *   send the same push at once: the second waits for the first's outcome, or for its lease to lapse
 *   when the first died.
 */
export class NotifierLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(userId: string, notificationId: string): string {
    return `${this.prefix}quikchat:notifier:${userId}:${notificationId}`;
  }

  /** The outcome recorded for the target (`deviceId`, or `email:` for a mail), if any. */
  async outcome(userId: string, notificationId: string, target: string): Promise<SendOutcome | undefined> {
    const stored = await this.redis.hget(this.key(userId, notificationId), target);
    return stored === null ? undefined : (JSON.parse(stored) as SendOutcome);
  }

  /**
   * Takes or renews `owner`'s claim on the target for `leaseMs` from now (Redis's clock), unless
   * the outcome is already known or another owner's claim has not lapsed. Atomic.
   */
  async claim(userId: string, notificationId: string, target: string, owner: string, leaseMs: number): Promise<Claim> {
    const answer = (await CLAIM.run(this.redis, [this.key(userId, notificationId)], [target, owner, Math.ceil(leaseMs), KEEP_SECONDS])) as string[];
    switch (answer[0]) {
      case "done":
        return { kind: "done", outcome: JSON.parse(answer[1]!) as SendOutcome };
      case "held":
        return { kind: "held", remainingMs: Number(answer[1]) };
      default:
        return { kind: "claimed" };
    }
  }

  /** Remembers the outcome and releases the target's claim; resolves once Redis has it. */
  async remember(userId: string, notificationId: string, target: string, outcome: SendOutcome): Promise<void> {
    const key = this.key(userId, notificationId);
    await this.redis.multi().hset(key, target, JSON.stringify(outcome)).hdel(key, claimField(target)).expire(key, KEEP_SECONDS).exec();
  }
}
