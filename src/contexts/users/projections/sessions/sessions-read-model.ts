import type { Redis } from "ioredis";
import type { TokenRevocations } from "../../../../platform/gateway/token-revocations.js";
import { sessionKeys } from "./sessions-model.js";

/** The token revocations as gateways read them, from the sessions read model (layout: `sessions-model.ts`). */
export class SessionsReadModel implements TokenRevocations {
  private readonly keys: ReturnType<typeof sessionKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = sessionKeys(prefix);
  }

  async revokedBefore(userId: string): Promise<number | undefined> {
    const stored = await this.redis.get(this.keys.revoked(userId));
    return stored === null ? undefined : Number(stored);
  }
}
