import type { Redis } from "ioredis";
import type { Logger } from "../../infra/log/logger.js";

/** Someone on this gateway who follows a Redis pub/sub channel. */
export interface ChannelListener {
  onMessage(message: string): void;
  /** The subscription was re-established after a Redis outage: messages may have been missed. */
  onResync(): void;
}

/** Where a gateway component follows pub/sub channels (a {@link PubSubHub}; a fake in unit tests). */
export interface ChannelSource {
  /** Follows `channel`; resolves once subscribed, with the function that stops following (idempotent). */
  listen(channel: string, listener: ChannelListener): Promise<() => void>;
}

/**
 * Ref-counted Redis subscriptions over one subscriber connection per gateway, which every
 * subscriber of the gateway shares: the first listener of a channel subscribes, the last one to
 * leave unsubscribes. Nothing is subscribed before the connection is first ready: a SUBSCRIBE
 * sent while ioredis runs its ready check fails that check, and the reconnect that follows drops
 * the subscription. ioredis resubscribes after later reconnects; listeners are then told to
 * resync, because pub/sub does not replay what was published while the connection was down.
 */
export class PubSubHub implements ChannelSource {
  private readonly listeners = new Map<string, Set<ChannelListener>>();
  private connectedOnce = false;
  private readonly firstReady: Promise<void>;

  constructor(
    private readonly subscriber: Redis,
    private readonly logger: Logger,
  ) {
    subscriber.on("message", (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener.onMessage(message);
    });
    let ready = () => undefined as void;
    this.firstReady = new Promise((resolve) => (ready = resolve));
    subscriber.on("ready", () => {
      if (this.connectedOnce) for (const set of this.listeners.values()) for (const listener of set) listener.onResync();
      this.connectedOnce = true;
      ready();
    });
    if (subscriber.status === "ready") {
      this.connectedOnce = true;
      ready();
    }
  }

  /** Follows `channel`; resolves once subscribed, with the function that stops following (idempotent). */
  async listen(channel: string, listener: ChannelListener): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      set.add(listener);
      try {
        await this.firstReady;
        await this.subscriber.subscribe(channel);
      } catch (error) {
        this.drop(channel, listener);
        throw error;
      }
    } else {
      set.add(listener);
    }
    return () => this.drop(channel, listener);
  }

  /** Channels followed on this gateway. */
  get size(): number {
    return this.listeners.size;
  }

  private drop(channel: string, listener: ChannelListener): void {
    const current = this.listeners.get(channel);
    if (!current?.delete(listener) || current.size > 0) return;
    this.listeners.delete(channel);
    this.subscriber.unsubscribe(channel).catch((error: unknown) => this.logger.warn({ err: error, channel }, "unsubscribe failed"));
  }
}

/** Parses a JSON message from a channel; undefined (and a warning) when it is not JSON. */
export function parseMessage<T>(message: string, channel: string, logger: Logger): T | undefined {
  try {
    return JSON.parse(message) as T;
  } catch (error) {
    logger.warn({ err: error, channel }, "ignoring a malformed pub/sub message");
    return undefined;
  }
}
