import type { ContextProjection, ProjectionKit } from "../../../platform/context-module.js";
import { TOPICS } from "../../../platform/contract/topics.js";
import type { PolicySettings } from "./policy-config.js";
import { startCallsPolicy, startHuddlesPolicy, startMessagesPolicy, type PolicyDeps } from "./policy-projections.js";
import { NOTIFY_CALLS_PROJECTION, NOTIFY_HUDDLES_PROJECTION, NOTIFY_MESSAGES_PROJECTION, RedisBurstStore, RedisCallsPolicyStore, RedisHuddlesPolicyStore } from "./policy-stores.js";
import { readModelFacts } from "./read-model-facts.js";

/**
 * The notification policy as the projector role runs it: `notify-messages`, `notify-calls` and
 * `notify-huddles`, each a checkpointed projection with its flusher (`quikchat projections`
 * lists, and may rebuild, them: a rebuild notifies of no message or invitation older than
 * `maxAgeMs`).
 */
export function policyProjections(kit: ProjectionKit, settings: PolicySettings): ContextProjection[] {
  const { config, codec, redis, logger, metrics, registry } = kit;
  const prefix = config.kafka.topicPrefix;
  const timing = { batchWindowMs: settings.batchWindowMs, maxAgeMs: settings.maxAgeMs };
  const deps = async (): Promise<PolicyDeps> => {
    const facts = readModelFacts({ pool: kit.pool, redis, topicPrefix: prefix });
    await facts.ensureSchema();
    return { config, codec, redis, logger, metrics, registry, facts, timing };
  };
  return [
    {
      name: NOTIFY_MESSAGES_PROJECTION,
      topic: TOPICS.messages.events,
      store: () => new RedisBurstStore(kit.redisConnection("notify-messages-store"), prefix, timing),
      start: async () => startMessagesPolicy(await deps()),
    },
    {
      name: NOTIFY_CALLS_PROJECTION,
      topic: TOPICS.calls.events,
      // The tools only read its checkpoints or clear it: names are not needed there.
      store: () => new RedisCallsPolicyStore(kit.redisConnection("notify-calls-store"), prefix, () => Promise.resolve(new Map())),
      start: async () => startCallsPolicy(await deps()),
    },
    {
      name: NOTIFY_HUDDLES_PROJECTION,
      topic: TOPICS.huddles.events,
      store: () => new RedisHuddlesPolicyStore(kit.redisConnection("notify-huddles-store"), prefix, timing, () => Promise.resolve(new Map())),
      start: async () => startHuddlesPolicy(await deps()),
    },
  ];
}
