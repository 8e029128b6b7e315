import type { Redis } from "ioredis";
import { liveCallKeys, type LiveCallView } from "./live-calls-model.js";
import { parseCallView } from "./redis-live-calls-store.js";

/**
 * The live-calls read model as gateways read it (layout: `live-calls-model.ts`): what the
 * projection last committed, so it lags the call's events by the projection's lag.
 */
export class LiveCallsReadModel {
  private readonly keys: ReturnType<typeof liveCallKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = liveCallKeys(prefix);
  }

  /** The call, ended or not, or undefined when unknown (never started, or ended over an hour ago). */
  async call(callId: string): Promise<LiveCallView | undefined> {
    return parseCallView(await this.redis.get(this.keys.call(callId)));
  }

  /** How many calls are live (ringing or active), across every gateway and projector. */
  activeCalls(): Promise<number> {
    return this.redis.scard(this.keys.live);
  }

  /** How many live calls have a recording running. */
  recordingCalls(): Promise<number> {
    return this.redis.scard(this.keys.recording);
  }

  /** Those of `userIds` in a live call other than `exceptCallId` (joined: busy), in the order given. */
  async busy(userIds: readonly string[], exceptCallId: string): Promise<string[]> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.smembers(this.keys.user(userId));
    const results = (await pipeline.exec()) ?? [];
    return userIds.filter((_, index) => {
      const [error, callIds] = results[index] ?? [null, []];
      if (error !== null) throw error;
      return (callIds as string[]).some((callId) => callId !== exceptCallId);
    });
  }
}
