import type { ChainableCommander, Redis } from "ioredis";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { RedisCheckpointedStore, type CheckpointedPlan } from "../../../../platform/projection/redis-checkpointed-store.js";

/** The name of the upstream users projection: its consumer group and its checkpoints. */
export const USERS_PROJECTION = "users";

/**
 * The users read model in Redis (`<p>` = topic prefix): `<p>users:profile:<userId>` hash
 * (`display_name`, `username`, `email`, `avatar_url`, `timezone`, `workspace_id`) of every user the
 * upstream service created and has not deleted, as its latest event says; `<p>users:checkpoint`,
 * the projection's checkpoint, in the same MULTI/EXEC.
 */
export const userKeys = (prefix: string) => ({
  checkpoint: `${prefix}users:checkpoint`,
  profile: (userId: string) => `${prefix}users:profile:${userId}`,
});

/**
 * The address a user's email notifications go to, as the user service last stated it (the
 * profile's `email`); null for a user without one, unknown, or deleted. Only the notifier reads it:
 * no API shows it to other users.
 */
export async function emailOf(redis: Redis, prefix: string, userId: string): Promise<string | null> {
  const email = await redis.hget(userKeys(prefix).profile(userId), "email");
  return email === null || email === "" ? null : email;
}

/** A user's profile as the latest upstream event left it; null once deleted. */
export type Profile = Readonly<Record<"display_name" | "workspace_id", string> & Record<"username" | "email" | "avatar_url" | "timezone", string | null>> | null;

/** Each user's profile after `records`, for the users they are about (pure). */
export function foldProfiles(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): Map<string, Profile> {
  const profiles = new Map<string, Profile>();
  for (const record of records) {
    const event = eventOf(record, "users");
    if (event === undefined) continue;
    if (event.type === "UserDeleted") {
      profiles.set(event.data.userId, null);
      continue;
    }
    const { userId, displayName, username, email, avatarUrl, timezone, meta } = event.data;
    profiles.set(userId, { display_name: displayName, username, email, avatar_url: avatarUrl, timezone, workspace_id: meta.workspaceId });
  }
  return profiles;
}

/** The users read model (layout: {@link userKeys}) with its checkpoint; a profile is replaced whole, as the events carry it whole. */
export class RedisProfilesStore extends RedisCheckpointedStore<undefined> {
  private readonly keys: ReturnType<typeof userKeys>;

  constructor(redis: Redis, prefix: string) {
    const keys = userKeys(prefix);
    super(redis, { checkpoint: keys.checkpoint, keyPrefix: `${prefix}users:` });
    this.keys = keys;
  }

  protected override plan(fresh: readonly ConsumedRecord[]): Promise<CheckpointedPlan<undefined>> {
    const profiles = foldProfiles(fresh);
    const write = (transaction: ChainableCommander) => {
      for (const [userId, profile] of profiles) {
        const key = this.keys.profile(userId);
        transaction.del(key);
        if (profile === null) continue;
        const fields = Object.entries(profile).filter((entry): entry is [string, string] => entry[1] !== null);
        transaction.hset(key, Object.fromEntries(fields));
      }
    };
    return Promise.resolve({ outcome: undefined, write });
  }
}
