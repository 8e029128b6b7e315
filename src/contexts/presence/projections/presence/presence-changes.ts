import type { PresenceStatus } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import {
  presenceKeys,
  type GatewayConnection,
  type PresenceConnection,
  type PresenceEntries,
  type PresenceMeta,
  type UserPresence,
  type WorkspaceMeta,
} from "./presence-model.js";

/** The name of the presence projection: its consumer group and its checkpoints. */
export const PRESENCE_PROJECTION = "presence";

const STATUSES: readonly PresenceStatus[] = ["online", "away", "dnd", "offline"];

/** The status a user has chosen before any event said otherwise. */
export const DEFAULT_STATUS: PresenceStatus = "online";

/** What the fold needs of a record: its position (for `phx_ref`s) and its event. */
export type PresenceRecord = Pick<ConsumedRecord, "partition" | "offset" | "fullName" | "value">;

/**
 * One user's presence as the projection holds it: `presence:user:<userId>`,
 * `presence:conns:<userId>`, and the user's entries of `presence:metas:<workspaceId>`.
 * `device_count` is the number of connections and `online_at` the earliest `onlineAt` of
 * them, so neither is kept apart.
 */
export interface UserPresenceState {
  readonly userId: string;
  /** The workspace of the user's latest event; null before any. */
  readonly workspaceId: string | null;
  /** The status the user chose; `offline` = appear offline. */
  readonly status: PresenceStatus;
  readonly statusText: string | null;
  /** Epoch milliseconds of the latest connect or of going offline; null when never seen. */
  readonly lastSeen: number | null;
  /** The open connections by connection id. */
  readonly connections: ReadonlyMap<string, PresenceConnection>;
  /** The metas the workspace sees, by connection id: one per connection while visible, none otherwise. */
  readonly metas: ReadonlyMap<string, PresenceMeta>;
}

/** One Redis write, in the order the store must issue them inside its MULTI. */
export type RedisWrite =
  | { readonly op: "del"; readonly key: string }
  | { readonly op: "hset"; readonly key: string; readonly fields: Readonly<Record<string, string>> }
  | { readonly op: "hdel"; readonly key: string; readonly fields: readonly string[] }
  | { readonly op: "zadd"; readonly key: string; readonly score: number; readonly member: string }
  | { readonly op: "zrem"; readonly key: string; readonly member: string };

/** A user the workspace started or stopped seeing online over a batch. */
export interface VisibilityChange {
  readonly userId: string;
  readonly workspaceId: string;
  readonly online: boolean;
  /** Epoch milliseconds: `occurredAt` of the event that made the (last) change. */
  readonly at: number;
}

/** The effect of a batch of one partition, as the store commits it and the projection announces it. */
export interface PresenceOutcome {
  /** The state of every user the batch touched, after it. */
  readonly users: ReadonlyMap<string, UserPresenceState>;
  /** Everything to write to Redis (the checkpoint excepted). */
  readonly writes: readonly RedisWrite[];
  /** The merged presence_diff of each workspace whose view changed; none for a workspace whose joins and leaves cancel out. */
  readonly diffs: ReadonlyMap<string, { readonly joins: PresenceEntries; readonly leaves: PresenceEntries }>;
  /** Users whose visibility differs between the start and the end of the batch. */
  readonly visibility: readonly VisibilityChange[];
  /** The new {@link UserPresence} of every touched user whose presence changed. */
  readonly updates: readonly UserPresence[];
  /** Every workspace a touched user was or is in. */
  readonly workspaces: readonly string[];
  /** The gateways of the connections the batch opened, in id order. */
  readonly gateways: readonly string[];
}

/** A user no event has touched yet. */
export function unknownUser(userId: string): UserPresenceState {
  return { userId, workspaceId: null, status: DEFAULT_STATUS, statusText: null, lastSeen: null, connections: new Map(), metas: new Map() };
}

/** True when the workspace sees the user online: at least one connection, and a chosen status other than offline. */
export function isVisible(state: UserPresenceState): boolean {
  return state.connections.size > 0 && state.status !== "offline";
}

/** Epoch milliseconds of the earliest open connection; null without connections. */
export function onlineAtOf(state: UserPresenceState): number | null {
  let earliest: number | null = null;
  for (const connection of state.connections.values()) {
    if (earliest === null || connection.onlineAt < earliest) earliest = connection.onlineAt;
  }
  return earliest;
}

/** The user id a presence event is about; undefined for records of other types. */
export function presenceUserOf(record: Pick<ConsumedRecord, "fullName" | "value">): string | undefined {
  return eventOf(record, "presence")?.data.userId;
}

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
    lastSeen: user.last_seen === undefined ? null : Number(user.last_seen),
    connections: parsedConnections,
    metas: parsedMetas,
  };
}

/** What the user's own channel and `GET /api/presence/:user_id` show of a state. */
export function userPresenceOf(state: UserPresenceState): UserPresence {
  const onlineAt = onlineAtOf(state);
  return {
    user_id: state.userId,
    workspace_id: state.workspaceId,
    status: isVisible(state) ? state.status : "offline",
    chosen_status: state.status,
    status_text: state.statusText,
    device_count: state.connections.size,
    last_seen: state.lastSeen,
    online_at: onlineAt,
    devices: sortedConnections(state).map((connection) => ({
      connection_id: connection.connectionId,
      device: connection.deviceId,
      platform: connection.platform,
      online_at: connection.onlineAt,
    })),
  };
}

/**
 * The `phx_ref` of the `index`-th meta a record creates: derived from the record's position, so
 * that replaying the log (a rebuild, a retried batch) yields the same refs.
 */
export function phxRefAt(record: Pick<PresenceRecord, "partition" | "offset">, index: number): string {
  return `${record.partition.toString(36)}.${record.offset.toString(36)}.${index.toString(36)}`;
}

/**
 * The state after one record (pure and total; records of other types, and events that repeat
 * what the state already says, change nothing):
 * - ConnectionOpened adds the connection (`last_seen` = the event's time);
 * - ConnectionRefreshed moves its staleness deadline;
 * - ConnectionClosed removes it;
 * - StatusChanged and UserOnline set the chosen status and text;
 * - UserOffline sets `last_seen`.
 * Then the metas follow: none while the user is not visible; otherwise each connection keeps
 * its meta unless the user's look (status, text, workspace) changed or the user just became
 * visible, in which case it gets a new one (`phx_ref_prev` = the replaced meta's ref, if any).
 */
export function evolvePresence(state: UserPresenceState, record: PresenceRecord): UserPresenceState {
  const next = evolveFacts(state, record);
  if (next === state) return state;
  return withMetas(state, next, record);
}

function evolveFacts(state: UserPresenceState, record: PresenceRecord): UserPresenceState {
  const decoded = eventOf(record, "presence");
  switch (decoded?.type) {
    case "ConnectionOpened": {
      const event = decoded.data;
      if (state.connections.has(event.connectionId)) return state;
      const connection: PresenceConnection = {
        connectionId: event.connectionId,
        gatewayId: event.gatewayId,
        deviceId: event.deviceId,
        platform: event.platform,
        onlineAt: event.meta.occurredAt,
        expiresAt: event.expiresAt,
        phxRef: phxRefAt(record, 0),
      };
      const connections = new Map(state.connections).set(event.connectionId, connection);
      return { ...state, workspaceId: event.meta.workspaceId, lastSeen: event.meta.occurredAt, connections };
    }
    case "ConnectionRefreshed": {
      const event = decoded.data;
      const connection = state.connections.get(event.connectionId);
      if (connection === undefined || connection.expiresAt === event.expiresAt) return state;
      return { ...state, connections: new Map(state.connections).set(event.connectionId, { ...connection, expiresAt: event.expiresAt }) };
    }
    case "ConnectionClosed": {
      const event = decoded.data;
      if (!state.connections.has(event.connectionId)) return state;
      const connections = new Map(state.connections);
      connections.delete(event.connectionId);
      return { ...state, workspaceId: event.meta.workspaceId, connections };
    }
    case "StatusChanged":
    case "UserOnline": {
      const event = decoded.data;
      const { workspaceId } = event.meta;
      if (state.status === event.status && state.statusText === event.statusText && state.workspaceId === workspaceId) return state;
      return { ...state, workspaceId, status: event.status, statusText: event.statusText };
    }
    case "UserOffline": {
      const event = decoded.data;
      if (state.lastSeen === event.lastSeenAt && state.workspaceId === event.meta.workspaceId) return state;
      return { ...state, workspaceId: event.meta.workspaceId, lastSeen: event.lastSeenAt };
    }
    default:
      return state;
  }
}

/** `next` with its metas (and its connections' `phxRef`s) following from `previous`. */
function withMetas(previous: UserPresenceState, next: UserPresenceState, record: PresenceRecord): UserPresenceState {
  if (!isVisible(next)) return next.metas.size === 0 ? next : { ...next, metas: new Map() };
  const sameLook =
    isVisible(previous) &&
    previous.status === next.status &&
    previous.statusText === next.statusText &&
    previous.workspaceId === next.workspaceId;
  const metas = new Map<string, PresenceMeta>();
  const connections = new Map<string, PresenceConnection>();
  let created = 0;
  for (const connection of sortedById(next.connections)) {
    const old = previous.metas.get(connection.connectionId);
    if (sameLook && old !== undefined) {
      metas.set(connection.connectionId, old);
      connections.set(connection.connectionId, connection);
      continue;
    }
    const meta: PresenceMeta = {
      phx_ref: phxRefAt(record, created),
      ...(old !== undefined && previous.workspaceId === next.workspaceId ? { phx_ref_prev: old.phx_ref } : {}),
      connection_id: connection.connectionId,
      device: connection.deviceId,
      platform: connection.platform,
      status: next.status,
      status_text: next.statusText,
      online_at: connection.onlineAt,
    };
    created += 1;
    metas.set(connection.connectionId, meta);
    connections.set(connection.connectionId, { ...connection, phxRef: meta.phx_ref });
  }
  return { ...next, connections, metas };
}

/**
 * Folds a batch of one partition into the touched users' states (pure): `users` holds the state
 * of every user the records are about (a missing one is {@link unknownUser}). Returns the final
 * states, the writes that take Redis from the given states to them, and what to announce.
 *
 * The diff of a workspace is merged over the batch as Phoenix.Presence merges diffs: a meta
 * that joined and left within the batch appears in neither, and a join then loses a
 * `phx_ref_prev` that names such a meta. The same records from the same states always give the
 * same outcome.
 */
export function foldPresence(prefix: string, users: ReadonlyMap<string, UserPresenceState>, records: readonly PresenceRecord[]): PresenceOutcome {
  const initial = new Map<string, UserPresenceState>();
  const current = new Map<string, UserPresenceState>();
  const lastVisibilityChange = new Map<string, number>();
  const diffs = new Map<string, DiffAccumulator>();
  const diffOf = (workspaceId: string) => {
    let diff = diffs.get(workspaceId);
    if (diff === undefined) diffs.set(workspaceId, (diff = new DiffAccumulator()));
    return diff;
  };

  for (const record of records) {
    const event = eventOf(record, "presence");
    if (event === undefined) continue;
    const { userId } = event.data;
    const before = current.get(userId) ?? users.get(userId) ?? unknownUser(userId);
    if (!initial.has(userId)) initial.set(userId, before);
    const after = evolvePresence(before, record);
    current.set(userId, after);
    if (after === before) continue;
    if (isVisible(before) !== isVisible(after)) lastVisibilityChange.set(userId, event.data.meta.occurredAt);
    for (const [connectionId, meta] of before.metas) {
      if (before.workspaceId !== null && !(before.workspaceId === after.workspaceId && after.metas.get(connectionId) === meta)) {
        diffOf(before.workspaceId).leave({ userId, meta });
      }
    }
    for (const [connectionId, meta] of after.metas) {
      if (after.workspaceId !== null && !(before.workspaceId === after.workspaceId && before.metas.get(connectionId) === meta)) {
        diffOf(after.workspaceId).join({ userId, meta });
      }
    }
  }

  const keys = presenceKeys(prefix);
  const writes: RedisWrite[] = [];
  const visibility: VisibilityChange[] = [];
  const updates: UserPresence[] = [];
  const workspaces = new Set<string>();
  const gateways = new Set<string>();
  for (const [userId, before] of initial) {
    const after = current.get(userId)!;
    for (const connection of after.connections.values()) if (!before.connections.has(connection.connectionId)) gateways.add(connection.gatewayId);
    if (before.workspaceId !== null) workspaces.add(before.workspaceId);
    if (after.workspaceId !== null) workspaces.add(after.workspaceId);
    writes.push(...userWrites(keys, before, after));
    const at = lastVisibilityChange.get(userId);
    if (isVisible(before) !== isVisible(after) && at !== undefined) {
      visibility.push({ userId, workspaceId: (isVisible(after) ? after.workspaceId : before.workspaceId) ?? "", online: isVisible(after), at });
    }
    const presence = userPresenceOf(after);
    if (JSON.stringify(presence) !== JSON.stringify(userPresenceOf(before))) updates.push(presence);
  }

  const merged = new Map<string, { joins: PresenceEntries; leaves: PresenceEntries }>();
  for (const [workspaceId, diff] of diffs) {
    if (!diff.isEmpty()) merged.set(workspaceId, diff.entries());
  }
  return { users: current, writes, diffs: merged, visibility, updates, workspaces: [...workspaces], gateways: [...gateways].sort(compare) };
}

/** The writes that take one user's keys from `before` to `after`. */
function userWrites(keys: ReturnType<typeof presenceKeys>, before: UserPresenceState, after: UserPresenceState): RedisWrite[] {
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
  return writes;
}

/** The joins and leaves of one workspace over a batch, merged. */
class DiffAccumulator {
  private readonly joins = new Map<string, WorkspaceMeta>();
  private readonly leaves = new Map<string, WorkspaceMeta>();
  /** Refs that joined and left within the batch: nobody saw them. */
  private readonly unseen = new Set<string>();

  join(entry: WorkspaceMeta): void {
    const prev = entry.meta.phx_ref_prev;
    if (prev !== undefined && this.unseen.has(prev)) {
      const { phx_ref_prev: _unseen, ...meta } = entry.meta;
      entry = { userId: entry.userId, meta };
    }
    this.joins.set(entry.meta.phx_ref, entry);
  }

  leave(entry: WorkspaceMeta): void {
    const ref = entry.meta.phx_ref;
    if (this.joins.delete(ref)) this.unseen.add(ref);
    else this.leaves.set(ref, entry);
  }

  isEmpty(): boolean {
    return this.joins.size === 0 && this.leaves.size === 0;
  }

  entries(): { joins: PresenceEntries; leaves: PresenceEntries } {
    return { joins: groupByUser(this.joins.values()), leaves: groupByUser(this.leaves.values()) };
  }
}

/** Phoenix.Presence's shape: user id → metas, in the order given. */
export function groupByUser(entries: Iterable<WorkspaceMeta>): PresenceEntries {
  const grouped: Record<string, PresenceMeta[]> = {};
  for (const { userId, meta } of entries) (grouped[userId] ??= []).push(meta);
  return Object.fromEntries(Object.entries(grouped).map(([userId, metas]) => [userId, { metas }]));
}

function sortedById(connections: ReadonlyMap<string, PresenceConnection>): PresenceConnection[] {
  return [...connections.values()].sort((a, b) => compare(a.connectionId, b.connectionId));
}

function sortedConnections(state: UserPresenceState): PresenceConnection[] {
  return [...state.connections.values()].sort((a, b) => a.onlineAt - b.onlineAt || compare(a.connectionId, b.connectionId));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseJson<T>(json: string): T | undefined {
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}
