import { TOPICS } from "../../../../platform/contract/topics.js";
import { typingActiveUsersGauge } from "../../metrics.js";
import { conversationDeltaChannel, type ConversationDelta } from "../../../conversations/projections/history/history-port.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { indicatorKey, RedisTypingStore, TYPING_PROJECTION, type TypingIndicator } from "./redis-typing-store.js";

/**
 * The typing indicators this projector applied and that have neither stopped nor passed their
 * deadline: what `typing_active_users` counts. Only this process's partitions count, and only
 * indicators (re)started since it started; after a rebalance, indicators of partitions it lost
 * drop out at their deadline.
 */
export class LiveTypingIndicators {
  private readonly deadlines = new Map<string, number>();

  note(indicators: readonly TypingIndicator[]): void {
    for (const { conversationId, userId, expiresAt } of indicators) {
      const key = indicatorKey(conversationId, userId);
      if (expiresAt === null) this.deadlines.delete(key);
      else this.deadlines.set(key, expiresAt);
    }
  }

  /** The indicators live at `now` (epoch ms); forgets the others. */
  count(now: number): number {
    for (const [key, deadline] of this.deadlines) if (deadline <= now) this.deadlines.delete(key);
    return this.deadlines.size;
  }
}

/**
 * Projects `quikapp.typing.events` into Redis ({@link RedisTypingStore}) and, after each commit
 * of a batch that is not catching up, publishes a `typing` {@link ConversationDelta} on the
 * conversation's channel for every indicator that appeared or disappeared (a renewal publishes
 * nothing), in record order. While catching up nothing is published: those indicators are
 * long gone. With `registry`, reports `typing_active_users` ({@link LiveTypingIndicators}).
 *
 * The store gets a Redis connection of its own (WATCH); `redis` publishes.
 */
export async function startTypingProjection(deps: RedisProjectionDeps): Promise<ProjectionRuntime> {
  const { config, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  const live = new LiveTypingIndicators();
  if (deps.registry !== undefined) typingActiveUsersGauge(deps.registry, () => live.count(Date.now()));
  return startRedisProjection(deps, {
    name: TYPING_PROJECTION,
    topic: TOPICS.typing.events,
    store: (own) => new RedisTypingStore(own, prefix),
    afterCommit: async (outcome, _records, { catchingUp }) => {
      live.note(outcome.indicators);
      if (catchingUp || outcome.transitions.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { conversationId, userId, typing } of outcome.transitions) {
        const delta: ConversationDelta = { kind: "typing", conversationId, userId, typing };
        pipeline.publish(conversationDeltaChannel(prefix, conversationId), JSON.stringify(delta));
      }
      const failed = (await pipeline.exec())?.find(([error]) => error !== null);
      if (failed) throw new Error("publishing typing deltas failed", { cause: failed[0] });
    },
  });
}
