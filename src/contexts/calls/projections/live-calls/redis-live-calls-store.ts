import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { ENDED_CALL_TTL_MS, foldLiveCalls, liveCallKeys, type LiveCallsOutcome, type LiveCallView } from "./live-calls-model.js";

/** The name of the live-calls projection: its consumer group and its checkpoints. */
export const LIVE_CALLS_PROJECTION = "live-calls";

/** A stored call view, or undefined when absent or unreadable (then the call is as if never seen). */
export function parseCallView(json: string | null): LiveCallView | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as LiveCallView;
  } catch {
    return undefined;
  }
}

/**
 * The live-calls read model (layout: {@link liveCallKeys}) with its checkpoint
 * ({@link RedisCheckpointedStore}): a batch reads the views of the calls its records name, folds
 * the records ({@link foldLiveCalls}) and writes the views back whole, with the users' call sets,
 * and the sets of live and recording calls, in one MULTI/EXEC. An ended call expires
 * {@link ENDED_CALL_TTL_MS} later.
 */
export class RedisLiveCallsStore extends RedisCheckpointedStore<LiveCallsOutcome> {
  private readonly keys: ReturnType<typeof liveCallKeys>;

  constructor(redis: Redis, prefix: string) {
    const keys = liveCallKeys(prefix);
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: keys.keyPrefix });
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<LiveCallsOutcome>> {
    const callIds = [...new Set(fresh.flatMap((record) => eventOf(record, "calls")?.data.callId ?? []))];
    const stored = new Map<string, LiveCallView>();
    if (callIds.length > 0) {
      const values = await this.redis.mget(...callIds.map((callId) => this.keys.call(callId)));
      callIds.forEach((callId, index) => {
        const view = parseCallView(values[index] ?? null);
        if (view !== undefined) stored.set(callId, view);
      });
    }
    const { calls, memberships, userPushes, callPushes, answeredEnds } = foldLiveCalls(stored, fresh);
    const write = (transaction: ChainableCommander) => {
      for (const [callId, view] of calls) {
        if (stored.get(callId) === view) continue;
        const key = this.keys.call(callId);
        if (view.status === "ended") transaction.set(key, JSON.stringify(view), "PX", ENDED_CALL_TTL_MS);
        else transaction.set(key, JSON.stringify(view));
        if (view.status === "ended") transaction.srem(this.keys.live, callId);
        else transaction.sadd(this.keys.live, callId);
        if (view.status !== "ended" && view.recordingId !== null) transaction.sadd(this.keys.recording, callId);
        else transaction.srem(this.keys.recording, callId);
      }
      for (const [userId, changes] of memberships) {
        const key = this.keys.user(userId);
        const entered = [...changes].filter(([, inCall]) => inCall).map(([callId]) => callId);
        const left = [...changes].filter(([, inCall]) => !inCall).map(([callId]) => callId);
        if (entered.length > 0) transaction.sadd(key, ...entered);
        if (left.length > 0) transaction.srem(key, ...left);
      }
    };
    return { outcome: { userPushes, callPushes, answeredEnds }, write };
  }
}
