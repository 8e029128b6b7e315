import type { Redis } from "ioredis";

/**
 * Publishes `messages` (`[channel, message]`) in one pipeline: in order, in one round trip;
 * rejects naming `what` when Redis refused one of them.
 */
export async function publishAll(redis: Redis, messages: readonly (readonly [channel: string, message: string])[], what = "deltas"): Promise<void> {
  if (messages.length === 0) return;
  const pipeline = redis.pipeline();
  for (const [channel, message] of messages) pipeline.publish(channel, message);
  const failed = (await pipeline.exec())?.find(([error]) => error !== null);
  if (failed) throw new Error(`publishing ${what} failed`, { cause: failed[0] });
}
