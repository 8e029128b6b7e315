import { defineContext, type GatewayKit, type GatewayPart } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { PubSubDeltas } from "../../platform/gateway/pubsub-deltas.js";
import { ChannelAdmission } from "./channels/channel-admission.js";
import { channelFamily } from "./channels/channel-family.js";
import { CONVERSATION_PUBLISHER, WORKSPACE_PRESENCE } from "./ports.js";
import { channelProcessor } from "./processor.js";
import { CHANNELS_PROJECTION, channelDeltaChannel, type ChannelChange } from "./projections/channels/channel-changes.js";
import { channelStore, startChannelProjection } from "./projections/channels/channel-projection.js";
import { channelServerMethods } from "./server-methods.js";

/**
 * Channels: typed channels that backends create and publish into (`quikapp.channels.*`), one
 * aggregate per channel; the channels read model in MySQL (registry, subscribers, history);
 * `channel:{channelId}` on the socket; the channels' methods of the server API.
 */
export const channels = defineContext({
  name: "channels",
  dependencies: () => ["mysql"],
  processors: () => [channelProcessor],
  projections: (kit) => {
    const { config, codec, pool, redis, logger, metrics } = kit;
    return [
      {
        name: CHANNELS_PROJECTION,
        topic: TOPICS.channels.events,
        store: () => channelStore(pool, config.kafka.topicPrefix),
        start: () => startChannelProjection({ config, codec, pool, redis, logger, metrics }),
      },
    ];
  },
  gateway: channelsGateway,
});

async function channelsGateway(kit: GatewayKit): Promise<GatewayPart> {
  const { config, bus, hub, logger, redis, ports } = kit;
  const prefix = config.kafka.topicPrefix;
  const store = channelStore(kit.pool, prefix);
  // A gateway may start before any projector has made the tables it reads.
  await store.ensureSchema();
  const admission = new ChannelAdmission(redis, prefix, logger);
  const presence = () => ports.find(WORKSPACE_PRESENCE);
  const changes = new PubSubDeltas<ChannelChange>(hub, (channelId) => channelDeltaChannel(prefix, channelId), logger);
  return {
    families: [channelFamily({ store, changes, admission, bus, presence, logger })],
    serverMethods: channelServerMethods({ bus, store, presence, conversations: () => ports.find(CONVERSATION_PUBLISHER) }),
    close: () => Promise.resolve(admission.close()),
  };
}
