import type { Logger } from "../../../infra/log/logger.js";
import { conversationDeltaChannel, type ConversationDelta } from "../projections/history/history-port.js";
import type { ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import { PubSubDeltas } from "../../../platform/gateway/pubsub-deltas.js";
import type { FeedListener } from "../../../platform/gateway/sequenced-feed.js";

/** Someone on this gateway who follows a conversation's deltas. */
export type DeltaListener = FeedListener<ConversationDelta>;

/** Conversation deltas over the gateway's pub/sub hub: subscribed only while a channel on the conversation is joined here. */
export class DeltaFanout extends PubSubDeltas<ConversationDelta> {
  constructor(hub: ChannelSource, topicPrefix: string, logger: Logger) {
    super(hub, (conversationId) => conversationDeltaChannel(topicPrefix, conversationId), logger);
  }
}
