import type { Logger } from "../../../infra/log/logger.js";
import { conversationDeltaChannel, type ConversationDelta } from "../projections/history/history-port.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";

/** Someone on this gateway who follows a conversation's deltas. */
export interface DeltaListener {
  onDelta(delta: ConversationDelta): void;
  /** The subscription was re-established after a Redis outage: deltas may have been missed. */
  onResync(): void;
}

/** Conversation deltas over the gateway's pub/sub hub: subscribed only while a channel on the conversation is joined here. */
export class DeltaFanout {
  private lastMessage: string | undefined;
  private lastDelta: ConversationDelta | undefined;

  constructor(
    private readonly hub: ChannelSource,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
  ) {}

  /** Follows `conversationId`; resolves once subscribed, with the function that stops following. */
  listen(conversationId: string, listener: DeltaListener): Promise<() => void> {
    const channel = conversationDeltaChannel(this.topicPrefix, conversationId);
    return this.hub.listen(channel, {
      onMessage: (message) => {
        // Every listener of the channel gets the same message in turn: it is parsed once, and
        // the one delta object (which nobody changes) goes to all of them.
        if (this.lastMessage !== message) {
          this.lastMessage = message;
          this.lastDelta = parseMessage<ConversationDelta>(message, channel, this.logger);
        }
        if (this.lastDelta !== undefined) listener.onDelta(this.lastDelta);
      },
      onResync: () => listener.onResync(),
    });
  }
}
