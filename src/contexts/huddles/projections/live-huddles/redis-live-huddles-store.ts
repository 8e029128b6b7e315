import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";
import { ENDED_HUDDLE_TTL_MS, foldLiveHuddles, liveHuddleKeys, type AddressedPush, type LiveHuddleView } from "./live-huddles-model.js";

/** The name of the live-huddles projection: its consumer group and its checkpoints. */
export const LIVE_HUDDLES_PROJECTION = "live-huddles";

/** A stored huddle view, or undefined when absent or unreadable (then the huddle is as if never seen). */
export function parseHuddleView(json: string | null): LiveHuddleView | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as LiveHuddleView;
  } catch {
    return undefined;
  }
}

/**
 * The live-huddles read model (layout: {@link liveHuddleKeys}) with its checkpoint
 * ({@link RedisCheckpointedStore}): a batch reads the views of the huddles its records name, folds
 * the records ({@link foldLiveHuddles}) and writes the views back whole, with the conversations'
 * live huddle and the set of live huddles, in one MULTI/EXEC. An ended huddle expires
 * {@link ENDED_HUDDLE_TTL_MS} later; its conversation's entry goes at once, unless a newer huddle
 * of the conversation holds it.
 */
export class RedisLiveHuddlesStore extends RedisCheckpointedStore<readonly AddressedPush[]> {
  private readonly keys: ReturnType<typeof liveHuddleKeys>;

  constructor(redis: Redis, prefix: string) {
    const keys = liveHuddleKeys(prefix);
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: keys.keyPrefix });
    this.keys = keys;
  }

  protected override async plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<readonly AddressedPush[]>> {
    const huddleIds = [...new Set(fresh.flatMap((record) => eventOf(record, "huddles")?.data.huddleId ?? []))];
    const stored = new Map<string, LiveHuddleView>();
    if (huddleIds.length > 0) {
      const values = await this.redis.mget(...huddleIds.map((huddleId) => this.keys.huddle(huddleId)));
      huddleIds.forEach((huddleId, index) => {
        const view = parseHuddleView(values[index] ?? null);
        if (view !== undefined) stored.set(huddleId, view);
      });
    }
    const { huddles, pushes } = foldLiveHuddles(stored, fresh);
    const changed = [...huddles.values()].filter((view) => stored.get(view.huddleId) !== view);
    // The conversations' current entries, to remove an ended huddle's only while it is still the one named.
    const conversationIds = [...new Set(changed.flatMap((view) => (view.status === "ended" && view.conversationId !== null ? [view.conversationId] : [])))];
    const current = new Map<string, string | null>();
    if (conversationIds.length > 0) {
      const values = await this.redis.mget(...conversationIds.map((conversationId) => this.keys.conversation(conversationId)));
      conversationIds.forEach((conversationId, index) => current.set(conversationId, values[index] ?? null));
    }
    const write = (transaction: ChainableCommander) => {
      for (const view of changed) {
        const key = this.keys.huddle(view.huddleId);
        if (view.status === "ended") {
          transaction.set(key, JSON.stringify(view), "PX", ENDED_HUDDLE_TTL_MS).srem(this.keys.live, view.huddleId);
          if (view.conversationId !== null && current.get(view.conversationId) === view.huddleId) transaction.del(this.keys.conversation(view.conversationId));
        } else {
          transaction.set(key, JSON.stringify(view)).sadd(this.keys.live, view.huddleId);
          if (view.conversationId !== null && stored.get(view.huddleId) === undefined) transaction.set(this.keys.conversation(view.conversationId), view.huddleId);
        }
      }
    };
    return { outcome: pushes, write };
  }
}
