import type { Redis } from "ioredis";
import type { Logger } from "../../infra/log/logger.js";
import { conversationDeltaChannel, type ConversationDelta } from "../../projections/history/history-port.js";

/** Someone on this gateway who follows a conversation's deltas. */
export interface DeltaListener {
  onDelta(delta: ConversationDelta): void;
  /** The subscription was re-established after a Redis outage: deltas may have been missed. */
  onResync(): void;
}

/**
 * One Redis subscriber connection per gateway, subscribed only to the conversations this
 * gateway has joined channels on (first listener subscribes, last one unsubscribes). ioredis
 * resubscribes after a reconnect; listeners are then told to resync, because pub/sub does not
 * replay what was published while the connection was down.
 */
export class DeltaFanout {
  private readonly listeners = new Map<string, Set<DeltaListener>>();
  private readonly conversationOf = new Map<string, string>();
  private connectedOnce = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
  ) {
    subscriber.on("message", (channel: string, message: string) => this.dispatch(channel, message));
    subscriber.on("ready", () => {
      if (this.connectedOnce) for (const set of this.listeners.values()) for (const listener of set) listener.onResync();
      this.connectedOnce = true;
    });
    if (subscriber.status === "ready") this.connectedOnce = true;
  }

  /** Follows `conversationId`; resolves once subscribed, with the function that stops following. */
  async listen(conversationId: string, listener: DeltaListener): Promise<() => void> {
    const channel = conversationDeltaChannel(this.topicPrefix, conversationId);
    let set = this.listeners.get(conversationId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(conversationId, set);
      this.conversationOf.set(channel, conversationId);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(conversationId);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(conversationId);
      this.conversationOf.delete(channel);
      this.subscriber.unsubscribe(channel).catch((error: unknown) => this.logger.warn({ err: error, channel }, "unsubscribe failed"));
    };
  }

  /** Conversations followed on this gateway. */
  get size(): number {
    return this.listeners.size;
  }

  private dispatch(channel: string, message: string): void {
    const conversationId = this.conversationOf.get(channel);
    if (conversationId === undefined) return;
    let delta: ConversationDelta;
    try {
      delta = JSON.parse(message) as ConversationDelta;
    } catch (error) {
      this.logger.warn({ err: error, channel }, "ignoring a malformed delta");
      return;
    }
    for (const listener of this.listeners.get(conversationId) ?? []) listener.onDelta(delta);
  }
}
