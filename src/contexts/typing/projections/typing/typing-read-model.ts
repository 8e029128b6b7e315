import type { Redis } from "ioredis";
import { typingKeys } from "./typing-model.js";

/** A member typing in a conversation, as `GET /api/presence/typing/:conversation_id` lists them. */
export interface TypingUser {
  readonly user_id: string;
  /** Epoch milliseconds at which the indicator disappears unless renewed. */
  readonly expires_at: number;
}

/**
 * The typing read model as gateways and REST read it, over Redis (layout: `typing-model.ts`).
 * It lags the events by the projection's lag; indicators past their deadline are never
 * returned, even before the projection removes them.
 */
export class TypingReadModel {
  private readonly keys: ReturnType<typeof typingKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = typingKeys(prefix);
  }

  /** The members typing in the conversation at `now` (epoch ms): deadlines after `now`, soonest first. */
  async typingUsers(conversationId: string, now: number): Promise<TypingUser[]> {
    const flat = await this.redis.zrangebyscore(this.keys.conversation(conversationId), `(${now}`, "+inf", "WITHSCORES");
    const users: TypingUser[] = [];
    for (let index = 0; index + 1 < flat.length; index += 2) users.push({ user_id: flat[index]!, expires_at: Number(flat[index + 1]) });
    return users;
  }
}
