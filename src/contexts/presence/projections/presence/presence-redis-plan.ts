import { compare, DEFAULT_STATUS, isVisible, onlineAtOf, sortedById, STATUSES, viewerChanges, type UserPresenceState } from "./presence-evolve.js";
import type { GatewayConnection, PresenceConnection, PresenceMeta, presenceKeys, WorkspaceMeta } from "./presence-model.js";

// How a user's presence is laid out in Redis, both ways: the writes that take the keys from one
// state to the next (userWrites), and the state read back from the keys (userStateFromRedis).

/** One Redis write, in the order the store must issue them inside its MULTI. */
export type RedisWrite =
  | { readonly op: "del"; readonly key: string }
  | { readonly op: "hset"; readonly key: string; readonly fields: Readonly<Record<string, string>> }
  | { readonly op: "hdel"; readonly key: string; readonly fields: readonly string[] }
  | { readonly op: "zadd"; readonly key: string; readonly score: number; readonly member: string }
  | { readonly op: "zrem"; readonly key: string; readonly member: string };

/**
 * A user's state from the raw Redis hashes: `user` (`presence:user:<userId>`), `connections`
 * (`presence:conns:<userId>`) and `metas`, the values of `presence:metas:<workspaceId>` for
 * those connections (missing or unparsable entries are skipped).
 */
export function userStateFromRedis(
  userId: string,
  user: Readonly<Record<string, string>>,
  connections: Readonly<Record<string, string>>,
  metas: Readonly<Record<string, string | null>> = {},
): UserPresenceState {
  const status = STATUSES.find((candidate) => candidate === user.status) ?? DEFAULT_STATUS;
  const parsedConnections = new Map<string, PresenceConnection>();
  for (const [connectionId, json] of Object.entries(connections)) {
    const connection = parseJson<PresenceConnection>(json);
    if (connection !== undefined) parsedConnections.set(connectionId, connection);
  }
  const parsedMetas = new Map<string, PresenceMeta>();
  for (const [connectionId, json] of Object.entries(metas)) {
    const entry = json === null ? undefined : parseJson<WorkspaceMeta>(json);
    if (entry !== undefined && entry.userId === userId && parsedConnections.has(connectionId)) parsedMetas.set(connectionId, entry.meta);
  }
  return {
    userId,
    workspaceId: user.workspace_id ?? null,
    status,
    statusText: user.status_text ?? null,
    displayName: user.display_name ?? null,
    avatarUrl: user.avatar_url ?? null,
    lastSeen: user.last_seen === undefined ? null : Number(user.last_seen),
    connections: parsedConnections,
    metas: parsedMetas,
  };
}

/** The writes that take one user's keys from `before` to `after`. */
export function userWrites(keys: ReturnType<typeof presenceKeys>, before: UserPresenceState, after: UserPresenceState): RedisWrite[] {
  if (after === before) return [];
  const writes: RedisWrite[] = [];
  const userId = after.userId;
  const onlineAt = onlineAtOf(after);
  writes.push({ op: "del", key: keys.user(userId) });
  writes.push({
    op: "hset",
    key: keys.user(userId),
    fields: {
      status: after.status,
      device_count: String(after.connections.size),
      ...(after.statusText === null ? {} : { status_text: after.statusText }),
      ...(after.displayName === null ? {} : { display_name: after.displayName }),
      ...(after.avatarUrl === null ? {} : { avatar_url: after.avatarUrl }),
      ...(after.lastSeen === null ? {} : { last_seen: String(after.lastSeen) }),
      ...(onlineAt === null ? {} : { online_at: String(onlineAt) }),
      ...(after.workspaceId === null ? {} : { workspace_id: after.workspaceId }),
    },
  });

  writes.push({ op: "del", key: keys.connections(userId) });
  if (after.connections.size > 0) {
    const fields: Record<string, string> = {};
    for (const connection of sortedById(after.connections)) fields[connection.connectionId] = JSON.stringify(connection);
    writes.push({ op: "hset", key: keys.connections(userId), fields });
  }

  for (const connection of sortedById(before.connections)) {
    const kept = after.connections.get(connection.connectionId);
    if (kept === undefined || kept.gatewayId !== connection.gatewayId || after.workspaceId !== before.workspaceId) {
      writes.push({ op: "hdel", key: keys.gateway(connection.gatewayId), fields: [connection.connectionId] });
    }
  }
  for (const connection of sortedById(after.connections)) {
    const had = before.connections.get(connection.connectionId);
    if (had === undefined || had.gatewayId !== connection.gatewayId || after.workspaceId !== before.workspaceId) {
      const value: GatewayConnection = { userId, workspaceId: after.workspaceId ?? "" };
      writes.push({ op: "hset", key: keys.gateway(connection.gatewayId), fields: { [connection.connectionId]: JSON.stringify(value) } });
    }
  }

  const moved = before.workspaceId !== after.workspaceId;
  if (before.workspaceId !== null) {
    if (isVisible(before) && (!isVisible(after) || moved)) writes.push({ op: "zrem", key: keys.online(before.workspaceId), member: userId });
    const gone = [...before.metas.keys()].filter((connectionId) => moved || !after.metas.has(connectionId));
    if (gone.length > 0) writes.push({ op: "hdel", key: keys.metas(before.workspaceId), fields: gone.sort() });
  }
  if (after.workspaceId !== null) {
    const beforeOnlineAt = onlineAtOf(before);
    if (isVisible(after) && onlineAt !== null && (moved || !isVisible(before) || beforeOnlineAt !== onlineAt)) {
      writes.push({ op: "zadd", key: keys.online(after.workspaceId), score: onlineAt, member: userId });
    }
    const fields: Record<string, string> = {};
    for (const [connectionId, meta] of [...after.metas].sort(([a], [b]) => compare(a, b))) {
      if (moved || before.metas.get(connectionId) !== meta) fields[connectionId] = JSON.stringify({ userId, meta } satisfies WorkspaceMeta);
    }
    if (Object.keys(fields).length > 0) writes.push({ op: "hset", key: keys.metas(after.workspaceId), fields });
  }

  const viewers = viewerChanges(before, after);
  const stays = new Set(viewers.joined.map((viewer) => keys.viewers(viewer.workspaceId, viewer.topic) + "\0" + viewer.connectionId));
  for (const { workspaceId, topic, connectionId } of viewers.left) {
    const key = keys.viewers(workspaceId, topic);
    if (!stays.has(key + "\0" + connectionId)) writes.push({ op: "hdel", key, fields: [connectionId] });
  }
  for (const { workspaceId, topic, connectionId, meta } of viewers.joined) {
    const { phx_ref_prev: _shownInDiffsOnly, ...stored } = meta;
    writes.push({ op: "hset", key: keys.viewers(workspaceId, topic), fields: { [connectionId]: JSON.stringify({ userId, meta: stored } satisfies WorkspaceMeta) } });
  }
  return writes;
}

function parseJson<T>(json: string): T | undefined {
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}
