import { publishAll } from "../../../../infra/redis/redis-publish.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { callDurationSeconds, liveCallGauges, observeCallEnd } from "../../metrics.js";
import { liveCallKeys } from "./live-calls-model.js";
import { LiveCallsReadModel } from "./live-calls-read-model.js";
import { LIVE_CALLS_PROJECTION, RedisLiveCallsStore } from "./redis-live-calls-store.js";

/**
 * Projects `quikapp.calls.events` into Redis ({@link RedisLiveCallsStore}) and, after each commit
 * of a batch that is not catching up, publishes its pushes in record order: to users on
 * `<p>calls:to-user:<userId>`, to a call's channel on `<p>calls:to-call:<callId>`. Each event is
 * pushed once: the store applies each record once, and pushes follow the commit (a projector
 * that dies between its commit and its publish loses those pushes; the read model is right, and
 * a client that rejoins reads it). While catching up nothing is published: a rebuild or a
 * restart does not ring anyone again, nor observes a call's duration twice
 * (`calls_duration_seconds`, once per answered call that ended; the projection also reports
 * `calls_active_total` and `calls_recording_active_total`, read from its read model).
 */
export async function startLiveCallsProjection(deps: RedisProjectionDeps): Promise<ProjectionRuntime> {
  const { config, redis, registry } = deps;
  const prefix = config.kafka.topicPrefix;
  const keys = liveCallKeys(prefix);
  if (registry !== undefined) liveCallGauges(registry, new LiveCallsReadModel(redis, prefix));
  const durations = registry === undefined ? undefined : callDurationSeconds(registry);
  return startRedisProjection(deps, {
    name: LIVE_CALLS_PROJECTION,
    topic: TOPICS.calls.events,
    store: (own) => new RedisLiveCallsStore(own, prefix),
    afterCommit: async ({ userPushes, callPushes, answeredEnds }, _records, { catchingUp }) => {
      if (catchingUp) return;
      if (durations !== undefined) for (const { callType, durationMs } of answeredEnds) observeCallEnd(durations, callType, durationMs);
      const messages = [
        ...userPushes.map((push) => [keys.toUser(push.userId), JSON.stringify(push)] as const),
        ...callPushes.map((push) => [keys.toCall(push.callId), JSON.stringify(push)] as const),
      ];
      await publishAll(redis, messages, "call pushes");
    },
  });
}
