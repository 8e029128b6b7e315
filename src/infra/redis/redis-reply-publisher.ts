import type { Redis } from "ioredis";
import { replyChannel } from "../../platform/processor/command-outcome.js";
import type { CommandReply, ReplyPublisher } from "../../platform/processor/reply-publisher.js";
import type { Logger } from "../log/logger.js";

/**
 * Publishes each outcome as JSON on Redis pub/sub channel `reply:<replyTo>`, a batch's replies in
 * one pipeline (one round trip, in order). `redis` may also serve other publishers, never a
 * subscriber; it stays the caller's to close.
 */
export class RedisReplyPublisher implements ReplyPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async publish(replies: readonly CommandReply[]): Promise<void> {
    if (replies.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { replyTo, outcome } of replies) pipeline.publish(replyChannel(replyTo), JSON.stringify(outcome));
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error !== null);
      if (failed?.[0]) throw failed[0];
    } catch (error) {
      // The commands are committed; their senders time out and retry, and the retries are answered from the dedupe window.
      this.logger.warn({ err: error, replies: replies.length }, "could not publish command replies");
    }
  }
}
