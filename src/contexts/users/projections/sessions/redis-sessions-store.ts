import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { EVERY_TOKEN, sessionKeys, type SessionDelta } from "./sessions-model.js";

/** The name of the sessions projection: its consumer group and its checkpoints. */
export const SESSIONS_PROJECTION = "sessions";

/** A delta with the time of its event, so that a projector catching up can tell a recent one. */
export interface TimedDelta {
  readonly delta: SessionDelta;
  readonly occurredAt: number;
}

/** The effect of a batch: each user's new revocation instant, and the deltas in record order. */
export interface SessionsOutcome {
  readonly revocations: ReadonlyMap<string, number>;
  readonly deltas: readonly TimedDelta[];
}

/** Folds session events into revocations and deltas (pure). */
export function foldSessions(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): SessionsOutcome {
  const revocations = new Map<string, number>();
  const deltas: TimedDelta[] = [];
  for (const record of records) {
    const event = eventOf(record, "sessions");
    if (event?.type === "UserDisconnected") {
      const { userId, cause, tokensRevokedBefore, meta } = event.data;
      const revokedBefore = cause === "user_deleted" ? EVERY_TOKEN : tokensRevokedBefore;
      if (revokedBefore !== null) revocations.set(userId, Math.max(revocations.get(userId) ?? 0, revokedBefore));
      deltas.push({ delta: { kind: "disconnect", userId, cause }, occurredAt: meta.occurredAt });
    } else if (event?.type === "ConnectionsRefreshed") {
      const { userId, connectionId, expiresAt, meta } = event.data;
      deltas.push({ delta: { kind: "refresh", userId, connectionId, expiresAt }, occurredAt: meta.occurredAt });
    }
  }
  return { revocations, deltas };
}

/**
 * The sessions read model in Redis (layout: `sessions-model.ts`) with its checkpoint. The
 * aggregate never moves a revocation back, so a batch writes each user's latest one as is.
 */
export class RedisSessionsStore extends RedisCheckpointedStore<SessionsOutcome> {
  private readonly keys: ReturnType<typeof sessionKeys>;

  constructor(redis: Redis, prefix: string) {
    const keys = sessionKeys(prefix);
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: `${prefix}sessions:` });
    this.keys = keys;
  }

  protected override plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<SessionsOutcome>> {
    const outcome = foldSessions(fresh);
    const write = (transaction: ChainableCommander) => {
      for (const [userId, revokedBefore] of outcome.revocations) transaction.set(this.keys.revoked(userId), String(revokedBefore));
    };
    return Promise.resolve({ outcome, write });
  }
}
