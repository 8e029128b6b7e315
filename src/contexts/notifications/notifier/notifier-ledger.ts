import type { Redis } from "ioredis";
import type { SendOutcome } from "./send-outcome.js";

/**
 * How long the notifier remembers what it did with a notification: far longer than any
 * notification stays unconsumed (a crashed notifier restarts within minutes), short enough that
 * the ledger stays small.
 */
const KEEP_SECONDS = 7 * 24 * 3600;

/**
 * The notifier's own record of each push it made, written the moment the provider answered and
 * before the record command is produced: on redelivery (a restart, a rebalance) the notifier
 * consults it first and records again, without sending again, what is in it. One hash per
 * notification (`<prefix>quikchat:notifier:<userId>:<notificationId>`), one field per device.
 */
export class NotifierLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(userId: string, notificationId: string): string {
    return `${this.prefix}quikchat:notifier:${userId}:${notificationId}`;
  }

  /** The outcome recorded for the device (`deviceId`, or `email:` for a mail), if any. */
  async outcome(userId: string, notificationId: string, target: string): Promise<SendOutcome | undefined> {
    const stored = await this.redis.hget(this.key(userId, notificationId), target);
    return stored === null ? undefined : (JSON.parse(stored) as SendOutcome);
  }

  /** Remembers the outcome; resolves once Redis has it. */
  async remember(userId: string, notificationId: string, target: string, outcome: SendOutcome): Promise<void> {
    const key = this.key(userId, notificationId);
    await this.redis.multi().hset(key, target, JSON.stringify(outcome)).expire(key, KEEP_SECONDS).exec();
  }
}
