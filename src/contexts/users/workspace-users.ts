import type { Redis } from "ioredis";
import { ServiceError } from "../../platform/errors/error-codes.js";
import { presenceKeys } from "../presence/projections/presence/presence-model.js";
import { userKeys } from "./projections/profiles/redis-profiles-store.js";

/**
 * Each user's workspace: the users read model's (the upstream user service's) if it knows them,
 * else the one presence last saw them connect in; null for a user neither knows.
 */
export async function workspacesOf(redis: Redis, topicPrefix: string, userIds: readonly string[]): Promise<(string | null)[]> {
  if (userIds.length === 0) return [];
  const users = userKeys(topicPrefix);
  const presence = presenceKeys(topicPrefix);
  const pipeline = redis.pipeline();
  for (const userId of userIds) pipeline.hget(users.profile(userId), "workspace_id").hget(presence.user(userId), "workspace_id");
  const results = (await pipeline.exec()) ?? [];
  return userIds.map((_, index) => {
    const [profileError, profile] = results[index * 2] ?? [null, null];
    const [presenceError, seen] = results[index * 2 + 1] ?? [null, null];
    if (profileError !== null || presenceError !== null) throw new ServiceError("unavailable", "the users read model could not be read", { cause: profileError ?? presenceError });
    return (profile as string | null) ?? (seen as string | null);
  });
}

/**
 * Checks that every one of `userIds` is a user of `workspaceId` ({@link workspacesOf}); the
 * first who is not is `not_found`, whether they are unknown or of another workspace (no leak of
 * who exists elsewhere).
 */
export async function requireWorkspaceUsers(redis: Redis, topicPrefix: string, workspaceId: string, userIds: readonly string[]): Promise<void> {
  const workspaces = await workspacesOf(redis, topicPrefix, userIds);
  const stranger = userIds.find((_, index) => workspaces[index] !== workspaceId);
  if (stranger !== undefined) throw new ServiceError("not_found", `no user ${stranger} in your workspace`);
}
