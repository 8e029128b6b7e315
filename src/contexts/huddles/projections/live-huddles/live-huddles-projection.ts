import { publishAll } from "../../../../infra/redis/redis-publish.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { liveHuddleGauges } from "../../metrics.js";
import { liveHuddleKeys, type AddressedPush } from "./live-huddles-model.js";
import { LiveHuddlesReadModel } from "./live-huddles-read-model.js";
import { LIVE_HUDDLES_PROJECTION, RedisLiveHuddlesStore } from "./redis-live-huddles-store.js";

/**
 * Projects `quikapp.huddles.events` into Redis ({@link RedisLiveHuddlesStore}) and, after each
 * commit of a batch that is not catching up, publishes its pushes in record order on
 * `<p>huddles:to-huddle:<huddleId>`, `<p>huddles:to-conversation:<conversationId>` and, for
 * invitations, `<p>huddles:to-user:<userId>`. Each event is pushed once: the store applies each
 * record once, and pushes follow the commit (a projector that dies between its commit and its
 * publish loses those pushes; the read model is right, and a client that rejoins reads it). While catching up nothing is published. The projection also
 * reports `huddles_active_total` and `huddle_participants_total`, read from its read model.
 */
export async function startLiveHuddlesProjection(deps: RedisProjectionDeps): Promise<ProjectionRuntime> {
  const keys = liveHuddleKeys(deps.config.kafka.topicPrefix);
  if (deps.registry !== undefined) liveHuddleGauges(deps.registry, new LiveHuddlesReadModel(deps.redis, deps.config.kafka.topicPrefix));
  return startRedisProjection(deps, {
    name: LIVE_HUDDLES_PROJECTION,
    topic: TOPICS.huddles.events,
    store: (own) => new RedisLiveHuddlesStore(own, deps.config.kafka.topicPrefix),
    afterCommit: async (pushes, _records, { catchingUp }) => {
      if (catchingUp) return;
      const channelOf = (to: AddressedPush["to"]) => ("huddleId" in to ? keys.toHuddle(to.huddleId) : "userId" in to ? keys.toUser(to.userId) : keys.toConversation(to.conversationId));
      const messages = pushes.map(({ to, push }) => [channelOf(to), JSON.stringify(push)] as const);
      await publishAll(deps.redis, messages, "huddle pushes");
    },
  });
}
