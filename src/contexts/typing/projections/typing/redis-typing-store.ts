import type { ChainableCommander, Redis } from "ioredis";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { resultsOf } from "../../../../infra/redis/redis-replies.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { typingKeys } from "./typing-model.js";

/** The name of the typing projection: its consumer group and its checkpoints. */
export const TYPING_PROJECTION = "typing";

/**
 * How long after its deadline an indicator nobody stopped is still kept: the `expired` stop the
 * processor's timer emits normally arrives within it and finds the indicator (and announces its
 * end); past it, the indicator is garbage and writes to the conversation remove it.
 */
const STALE_AFTER_MS = 60_000;

/** An indicator that appeared or disappeared: what gateways are told. */
export interface TypingTransition {
  readonly conversationId: string;
  readonly userId: string;
  readonly typing: boolean;
}

/** An indicator as a record left it: its deadline, or null once stopped. */
export interface TypingIndicator {
  readonly conversationId: string;
  readonly userId: string;
  readonly expiresAt: number | null;
}

/** The effect of a batch: transitions in record order, and every indicator's new deadline. */
export interface TypingOutcome {
  readonly transitions: readonly TypingTransition[];
  readonly indicators: readonly TypingIndicator[];
}

type TypingRecord = Pick<ConsumedRecord, "fullName" | "value">;

/** The key of an indicator in the maps of {@link foldTyping}. */
export const indicatorKey = (conversationId: string, userId: string): string => `${conversationId}\u0000${userId}`;

/**
 * Folds records into the indicators' deadlines (pure). `deadlines` holds the stored score of
 * every indicator the records are about (a missing one is not stored). A start is a transition
 * when the indicator was not stored or had expired by the start's time (a renewal is not); a
 * stop is one when the indicator was stored, whatever its deadline (an `expired` stop arrives at
 * the deadline, and still ends what clients show).
 */
export function foldTyping(
  deadlines: ReadonlyMap<string, number>,
  records: readonly TypingRecord[],
): TypingOutcome & { readonly deadlines: ReadonlyMap<string, number | null> } {
  const current = new Map<string, number | null>(deadlines);
  const transitions: TypingTransition[] = [];
  const indicators: TypingIndicator[] = [];
  for (const record of records) {
    const event = eventOf(record, "typing");
    if (event?.type === "TypingStarted") {
      const { conversationId, userId, expiresAt, meta } = event.data;
      const key = indicatorKey(conversationId, userId);
      const before = current.get(key) ?? null;
      if (before === null || before <= meta.occurredAt) transitions.push({ conversationId, userId, typing: true });
      current.set(key, expiresAt);
      indicators.push({ conversationId, userId, expiresAt });
    } else if (event?.type === "TypingStopped") {
      const { conversationId, userId } = event.data;
      const key = indicatorKey(conversationId, userId);
      if ((current.get(key) ?? null) !== null) transitions.push({ conversationId, userId, typing: false });
      current.set(key, null);
      indicators.push({ conversationId, userId, expiresAt: null });
    }
  }
  return { transitions, indicators, deadlines: current };
}

/**
 * The typing read model in Redis (layout: `typing-model.ts`), with its checkpoint
 * ({@link RedisCheckpointedStore}: one MULTI/EXEC per batch under WATCH, its own connection,
 * serialized applies).
 *
 * A batch reads the scores of the indicators the records touch, folds the records
 * ({@link foldTyping}) and writes the final scores (ZADD on a start, ZREM on a stop). Each write
 * to a conversation also drops its indicators stale for a minute, and keeps the key expiring a
 * minute after its latest deadline, so abandoned keys disappear.
 */
export class RedisTypingStore extends RedisCheckpointedStore<TypingOutcome> {
  private readonly keys: ReturnType<typeof typingKeys>;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly clock: () => number = Date.now,
  ) {
    const keys = typingKeys(prefix);
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: `${prefix}typing:` });
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<TypingOutcome>> {
    const touched = new Map<string, Set<string>>();
    for (const record of fresh) {
      const event = eventOf(record, "typing");
      if (event?.type !== "TypingStarted" && event?.type !== "TypingStopped") continue;
      const { conversationId, userId } = event.data;
      const users = touched.get(conversationId) ?? new Set<string>();
      touched.set(conversationId, users.add(userId));
    }
    const stored = new Map<string, number>();
    if (touched.size > 0) {
      const reads = this.redis.pipeline();
      for (const [conversationId, users] of touched) reads.zmscore(this.keys.conversation(conversationId), ...users);
      const scores = resultsOf(await reads.exec()) as (string | null)[][];
      [...touched].forEach(([conversationId, users], index) => {
        [...users].forEach((userId, position) => {
          const score = scores[index]?.[position];
          if (score !== null && score !== undefined) stored.set(indicatorKey(conversationId, userId), Number(score));
        });
      });
    }
    const { transitions, indicators, deadlines } = foldTyping(stored, fresh);
    const staleBefore = this.clock() - STALE_AFTER_MS;
    const write = (transaction: ChainableCommander) => {
      for (const [conversationId, users] of touched) {
        const key = this.keys.conversation(conversationId);
        let latest = 0;
        for (const userId of users) {
          const deadline = deadlines.get(indicatorKey(conversationId, userId)) ?? null;
          if (deadline === null) {
            transaction.zrem(key, userId);
          } else {
            transaction.zadd(key, deadline, userId);
            latest = Math.max(latest, deadline);
          }
        }
        transaction.zremrangebyscore(key, "-inf", staleBefore);
        if (latest > 0) {
          // NX for a new key, GT afterwards: the key never expires before its latest indicator.
          transaction.pexpireat(key, latest + STALE_AFTER_MS, "NX");
          transaction.pexpireat(key, latest + STALE_AFTER_MS, "GT");
        }
      }
    };
    return { outcome: { transitions, indicators }, write };
  }
}
