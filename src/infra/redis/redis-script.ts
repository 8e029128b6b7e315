import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** A Lua script run by its digest (EVALSHA), sent whole only when the server does not know it yet. */
export interface RedisScript {
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

export function redisScript(source: string): RedisScript {
  const sha = createHash("sha1").update(source).digest("hex");
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        // A restarted or flushed server has forgotten its scripts.
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}
