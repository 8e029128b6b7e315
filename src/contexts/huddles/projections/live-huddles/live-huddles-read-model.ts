import type { Redis } from "ioredis";
import { liveHuddleKeys, type LiveHuddleView } from "./live-huddles-model.js";
import { parseHuddleView } from "./redis-live-huddles-store.js";

/**
 * The live-huddles read model as gateways read it (layout: `live-huddles-model.ts`): what the
 * projection last committed, so it lags the huddle's events by the projection's lag.
 */
export class LiveHuddlesReadModel {
  private readonly keys: ReturnType<typeof liveHuddleKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = liveHuddleKeys(prefix);
  }

  /** The huddle, live or ended, or undefined when unknown (never created, or ended over an hour ago). */
  async huddle(huddleId: string): Promise<LiveHuddleView | undefined> {
    return parseHuddleView(await this.redis.get(this.keys.huddle(huddleId)));
  }

  /** The conversation's live huddle, if it has one. */
  async ofConversation(conversationId: string): Promise<LiveHuddleView | undefined> {
    const huddleId = await this.redis.get(this.keys.conversation(conversationId));
    if (huddleId === null) return undefined;
    const huddle = await this.huddle(huddleId);
    return huddle?.status === "live" ? huddle : undefined;
  }

  /** How many huddles are live. */
  liveCount(): Promise<number> {
    return this.redis.scard(this.keys.live);
  }

  /** How many participants the live huddles hold, all together (reads every live huddle). */
  async participantCount(): Promise<number> {
    const huddleIds = await this.redis.smembers(this.keys.live);
    if (huddleIds.length === 0) return 0;
    const views = await this.redis.mget(...huddleIds.map((huddleId) => this.keys.huddle(huddleId)));
    return views.reduce((sum, json) => {
      const huddle = parseHuddleView(json);
      return sum + (huddle?.status === "live" ? Object.keys(huddle.participants).length : 0);
    }, 0);
  }
}
