import type { Logger } from "../../infra/log/logger.js";
import { parseMessage, type ChannelSource } from "./pubsub-hub.js";
import type { FeedListener, FeedSource } from "./sequenced-feed.js";

/**
 * The JSON deltas of one stream per pub/sub channel (`channelOf(streamId)`) over the gateway's
 * hub: subscribed only while someone here listens.
 */
export class PubSubDeltas<Delta> implements FeedSource<Delta> {
  private lastMessage: string | undefined;
  private lastDelta: Delta | undefined;

  constructor(
    private readonly hub: ChannelSource,
    private readonly channelOf: (streamId: string) => string,
    private readonly logger: Logger,
  ) {}

  /** Follows `streamId`; resolves once subscribed, with the function that stops following. */
  listen(streamId: string, listener: FeedListener<Delta>): Promise<() => void> {
    const channel = this.channelOf(streamId);
    return this.hub.listen(channel, {
      onMessage: (message) => {
        // Every listener of the channel gets the same message in turn: it is parsed once, and
        // the one delta object (which nobody changes) goes to all of them.
        if (this.lastMessage !== message) {
          this.lastMessage = message;
          this.lastDelta = parseMessage<Delta>(message, channel, this.logger);
        }
        if (this.lastDelta !== undefined) listener.onDelta(this.lastDelta);
      },
      onResync: () => listener.onResync(),
    });
  }
}
