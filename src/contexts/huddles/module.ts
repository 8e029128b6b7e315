import { defineContext } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { huddlesConfig } from "./config.js";
import { huddleProcessor } from "./processor.js";
import { startLiveHuddlesProjection } from "./projections/live-huddles/live-huddles-projection.js";
import { LIVE_HUDDLES_PROJECTION, RedisLiveHuddlesStore } from "./projections/live-huddles/redis-live-huddles-store.js";
import { signalRelayStore, startSignalRelay } from "../calls/projections/signal-relay/signal-relay.js";
import { HUDDLE_SIGNAL_RELAY, huddleSignalRoute } from "./projections/signal-relay/huddle-signal-route.js";

/**
 * Huddles: one aggregate per huddle (`quikapp.huddles.*`) with its empty timer and its WebRTC
 * signals (`quikapp.huddlesignaling.*`), on the processor role; the `live-huddles` read model in
 * Redis, which publishes the huddles' changes for the channels to come, and the
 * `huddle-signal-relay` (the calls' signal relay), which delivers the signals. Not built yet: the
 * `huddle:{huddleId}` channel and the huddle pushes of conversation topics, the REST routes, the
 * huddle history in MongoDB, and the presence policy that removes the participants of lost
 * connections.
 */
export const huddles = defineContext({
  name: "huddles",
  config: huddlesConfig,
  processors: (settings) => [huddleProcessor(settings)],
  projections: (kit) => {
    const { config, codec, redis, logger, metrics, registry } = kit;
    return [
      {
        name: LIVE_HUDDLES_PROJECTION,
        topic: TOPICS.huddles.events,
        store: () => new RedisLiveHuddlesStore(kit.redisConnection("live-huddles-store"), config.kafka.topicPrefix),
        start: () => startLiveHuddlesProjection({ config, codec, redis, logger, metrics, registry }),
      },
      {
        name: HUDDLE_SIGNAL_RELAY,
        topic: TOPICS.huddlesignaling.events,
        store: () => signalRelayStore(kit.redisConnection("huddle-signal-relay-store"), huddleSignalRoute(config.kafka.topicPrefix)),
        start: () => startSignalRelay({ config, codec, redis, logger, metrics, registry }, huddleSignalRoute(config.kafka.topicPrefix)),
      },
    ];
  },
});
