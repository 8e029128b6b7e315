import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { RedisSessionsStore, SESSIONS_PROJECTION } from "./redis-sessions-store.js";
import { sessionKeys } from "./sessions-model.js";

/**
 * While catching up, deltas of events younger than this still go out: a disconnect decided while
 * the projector was restarting must still close the sockets; older ones concern sockets long gone
 * (and the revocations refuse their tokens anyway).
 */
const RECENT_MS = 60_000;

/**
 * Projects `quikapp.sessions.events` into Redis ({@link RedisSessionsStore}) and, after each
 * commit, publishes its deltas on `<p>sessions:connections` in record order, for every gateway
 * to act on the sockets it holds.
 */
export async function startSessionsProjection(deps: RedisProjectionDeps, clock: () => number = Date.now): Promise<ProjectionRuntime> {
  const { config, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  const channel = sessionKeys(prefix).deltas;
  return startRedisProjection(deps, {
    name: SESSIONS_PROJECTION,
    topic: TOPICS.sessions.events,
    store: (own) => new RedisSessionsStore(own, prefix),
    afterCommit: async (outcome, _records, { catchingUp }) => {
      const since = clock() - RECENT_MS;
      const due = outcome.deltas.filter(({ occurredAt }) => !catchingUp || occurredAt >= since);
      if (due.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { delta } of due) pipeline.publish(channel, JSON.stringify(delta));
      const failed = (await pipeline.exec())?.find(([error]) => error !== null);
      if (failed) throw new Error("publishing session deltas failed", { cause: failed[0] });
    },
  });
}
