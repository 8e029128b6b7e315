import { CompressionTypes } from "kafkajs";
import type { Redis } from "ioredis";
import { createIdempotentProducer } from "../../../../infra/kafka/kafkajs-client.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import type { RedisCheckpointedStore } from "../../../../platform/projection/redis-checkpointed-store.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { HUDDLE_CONNECTIONS_PROJECTION, LOST_CONNECTIONS_PROJECTION } from "./lost-connections-model.js";
import { RedisHuddleConnectionsStore, RedisLostConnectionsStore, type SendLeaves } from "./redis-lost-connections-stores.js";

type PolicyDeps = Pick<RedisProjectionDeps, "config" | "codec" | "logger" | "metrics" | "registry">;

/**
 * The presence policy of huddles, half one: projects `quikapp.huddles.events` into the
 * participants' connections ({@link RedisHuddleConnectionsStore}), removing at once a participant
 * who joined from a connection already closed.
 */
export function startHuddleConnectionsProjection(deps: PolicyDeps): Promise<ProjectionRuntime> {
  return startPolicyHalf(deps, HUDDLE_CONNECTIONS_PROJECTION, TOPICS.huddles.events, (redis, send) => new RedisHuddleConnectionsStore(redis, deps.config.kafka.topicPrefix, send));
}

/**
 * The presence policy of huddles, half two: reads `quikapp.presence.events` and, for each
 * connection presence closes (its socket closed, it went stale, its gateway died), sends
 * `LeaveHuddle` (`connection_lost`) for every huddle a participant is in from it
 * ({@link RedisLostConnectionsStore}).
 *
 * Both halves react while catching up too (after a restart or a rebalance, what they read was not
 * acted on yet, or was and is answered as a duplicate): the huddle aggregate decides, and ignores
 * a removal for a connection that is no longer its participant's. A rebuild by
 * `quikchat projections rebuild` applies without reacting.
 */
export function startLostConnectionsProjection(deps: PolicyDeps): Promise<ProjectionRuntime> {
  return startPolicyHalf(deps, LOST_CONNECTIONS_PROJECTION, TOPICS.presence.events, (redis, send) => new RedisLostConnectionsStore(redis, deps.config.kafka.topicPrefix, send));
}

/** One half of the policy: its store over a connection of its own, sending its removals with an idempotent producer of its own. */
async function startPolicyHalf(
  deps: PolicyDeps,
  name: string,
  topic: string,
  store: (redis: Redis, send: SendLeaves) => RedisCheckpointedStore<undefined>,
): Promise<ProjectionRuntime> {
  const { config, codec } = deps;
  const commands = config.kafka.topicPrefix + TOPICS.huddles.commands;
  const producer = createIdempotentProducer(config.kafka, deps.logger);
  await producer.connect();
  const send: SendLeaves = async (leaves) => {
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [{ topic: commands, messages: leaves.map((leave) => ({ key: leave.huddleId, value: codec.encode("quikchat.huddles.LeaveHuddle", leave) })) }],
    });
    deps.logger.info({ projection: name, removals: leaves.map(({ huddleId, userId, connectionId }) => ({ huddleId, userId, connectionId })) }, "huddles: participants of lost connections removed");
  };
  // Its onClose disconnects the producer, also when the projection fails to start.
  return startRedisProjection(deps, {
    name,
    topic,
    store: (own) => store(own, send),
    afterCommit: async () => undefined,
    onClose: () => producer.disconnect(),
  });
}
