import type { Redis } from "ioredis";
import { redisScript } from "../../../../infra/redis/redis-script.js";
import type { ConversationView } from "./mysql-membership-store.js";

/** What the cache knows about one user in one conversation. */
export interface MembershipAnswer {
  /** False when the conversation does not exist (as far as the read model knows). */
  readonly exists: boolean;
  readonly workspaceId: string;
  readonly member: boolean;
}

/**
 * Replaces a conversation's cached members only when `version` is newer than the cached one,
 * so a slow reader filling from MySQL can never overwrite what the projection wrote later.
 * Version -1 caches "no such conversation" until any real version arrives.
 */
const REPLACE = redisScript(`
local current = tonumber(redis.call('HGET', KEYS[2], 'v') or '-2')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 5000 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
end
if #ARGV >= 4 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('HSET', KEYS[2], 'v', ARGV[1], 'ws', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`);

/**
 * The Redis cache of conversation membership, over the MySQL read model. Entries expire after
 * `ttlMs`; the projection refreshes an entry after every change it commits.
 */
export class RedisMembershipCache {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlMs = 3_600_000,
  ) {}

  private keys(conversationId: string): [string, string] {
    const base = `${this.keyPrefix}conv:{${conversationId}}`;
    return [`${base}:members`, `${base}:meta`];
  }

  /** The cached answer, or undefined on a miss. */
  async lookup(conversationId: string, userId: string): Promise<MembershipAnswer | undefined> {
    const [members, meta] = this.keys(conversationId);
    const results = await this.redis.multi().hgetall(meta).sismember(members, userId).exec();
    const fields = results?.[0]?.[1] as Record<string, string> | undefined;
    if (fields?.v === undefined) return undefined;
    return { exists: Number(fields.v) >= 0, workspaceId: fields.ws ?? "", member: results?.[1]?.[1] === 1 };
  }

  /** Caches `view` (or its absence) unless a newer version is already cached. */
  async store(conversationId: string, view: ConversationView | undefined): Promise<void> {
    const [members, meta] = this.keys(conversationId);
    const args = view === undefined ? ["-1", "", String(this.ttlMs)] : [String(view.version), view.workspaceId, String(this.ttlMs), ...view.members.map((m) => m.userId)];
    await REPLACE.run(this.redis, [members, meta], args);
  }
}
