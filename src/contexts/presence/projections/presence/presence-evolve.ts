import type { PresenceStatus } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { own } from "../../../../platform/domain/own-entry.js";
import type { PresenceConnection, PresenceMeta, UserPresence } from "./presence-model.js";

/** Presence statuses a user may choose; `offline` = appear offline. */
export const STATUSES: readonly PresenceStatus[] = ["online", "away", "dnd", "offline"];

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
  /** The display name and avatar the user service last gave (`ProfileChanged`); null when it gave none. */
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
  /** Epoch milliseconds of the latest connect or of going offline; null when never seen. */
  readonly lastSeen: number | null;
  /** The open connections by connection id. */
  readonly connections: ReadonlyMap<string, PresenceConnection>;
  /** The metas the workspace sees, by connection id: one per connection while visible, none otherwise. */
  readonly metas: ReadonlyMap<string, PresenceMeta>;
}

/** A user no event has touched yet. */
export function unknownUser(userId: string): UserPresenceState {
  return { userId, workspaceId: null, status: DEFAULT_STATUS, statusText: null, displayName: null, avatarUrl: null, lastSeen: null, connections: new Map(), metas: new Map() };
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
 * - ConnectionRefreshed moves its staleness deadline, ConnectionClosing to the end of its
 *   reconnect grace (the connection stays, and so does its meta);
 * - ConnectionClosed removes it (and the topics it viewed);
 * - TopicJoined adds the topic to the connection's, with the record's ref; TopicLeft removes it;
 * - StatusChanged and UserOnline set the chosen status and text, ProfileChanged the display name and avatar;
 * - UserOffline sets `last_seen`.
 * Then the metas follow: none while the user is not visible; otherwise each connection keeps
 * its meta unless the user's look (status, text, display name, avatar, workspace) changed or the user just became
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
    case "ConnectionRefreshed":
    case "ConnectionClosing": {
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
    case "TopicJoined": {
      const { connectionId, topic } = decoded.data;
      const connection = state.connections.get(connectionId);
      if (connection === undefined || own(connection.topics ?? {}, topic) !== undefined) return state;
      const topics = { ...connection.topics, [topic]: phxRefAt(record, 0) };
      return { ...state, connections: new Map(state.connections).set(connectionId, { ...connection, topics }) };
    }
    case "TopicLeft": {
      const { connectionId, topic } = decoded.data;
      const connection = state.connections.get(connectionId);
      if (connection?.topics === undefined || own(connection.topics, topic) === undefined) return state;
      const { topics: _left, ...rest } = connection;
      const kept = Object.entries(connection.topics).filter(([joined]) => joined !== topic);
      return { ...state, connections: new Map(state.connections).set(connectionId, kept.length === 0 ? rest : { ...rest, topics: Object.fromEntries(kept) }) };
    }
    case "StatusChanged":
    case "UserOnline": {
      const event = decoded.data;
      const { workspaceId } = event.meta;
      if (state.status === event.status && state.statusText === event.statusText && state.workspaceId === workspaceId) return state;
      return { ...state, workspaceId, status: event.status, statusText: event.statusText };
    }
    case "ProfileChanged": {
      const { displayName, avatarUrl } = decoded.data;
      if (state.displayName === displayName && state.avatarUrl === avatarUrl) return state;
      return { ...state, displayName, avatarUrl };
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
    previous.displayName === next.displayName &&
    previous.avatarUrl === next.avatarUrl &&
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
      ...(next.displayName === null ? {} : { display_name: next.displayName }),
      ...(next.avatarUrl === null ? {} : { avatar_url: next.avatarUrl }),
      online_at: connection.onlineAt,
    };
    created += 1;
    metas.set(connection.connectionId, meta);
    connections.set(connection.connectionId, { ...connection, phxRef: meta.phx_ref });
  }
  return { ...next, connections, metas };
}

/** One connection's meta among the viewers of a topic. */
export interface ViewerMeta {
  readonly topic: string;
  readonly connectionId: string;
  readonly meta: PresenceMeta;
}

/**
 * What the viewers of each topic see of the user: for each connection with a workspace meta
 * (none while the user is not visible), one meta per topic it views, the workspace meta with
 * the ref `<its phx_ref>/<the TopicJoined's ref>` and no `phx_ref_prev`. In topic, then
 * connection id order.
 */
export function viewerMetasOf(state: UserPresenceState): ViewerMeta[] {
  const viewers: ViewerMeta[] = [];
  for (const [connectionId, meta] of state.metas) {
    const { phx_ref_prev: _prev, ...shown } = meta;
    for (const [topic, joinRef] of Object.entries(state.connections.get(connectionId)?.topics ?? {})) {
      viewers.push({ topic, connectionId, meta: { ...shown, phx_ref: `${meta.phx_ref}/${joinRef}` } });
    }
  }
  return viewers.sort((a, b) => compare(a.topic, b.topic) || compare(a.connectionId, b.connectionId));
}

/** A viewer meta of a user in the workspace its state is in. */
export interface WorkspaceViewerMeta extends ViewerMeta {
  readonly workspaceId: string;
}

/**
 * How the user's viewer metas differ between two states: the ones `before` had that `after` does
 * not have as they were (`left`), and the ones `after` has that `before` did not (`joined`, with
 * `phx_ref_prev` when it replaces the same connection's meta on the same topic).
 */
export function viewerChanges(before: UserPresenceState, after: UserPresenceState): { left: WorkspaceViewerMeta[]; joined: WorkspaceViewerMeta[] } {
  const was = viewersByKey(before);
  const is = viewersByKey(after);
  const sameWorkspace = before.workspaceId === after.workspaceId;
  const left = [...was.values()].filter((viewer) => !sameWorkspace || is.get(keyOf(viewer))?.meta.phx_ref !== viewer.meta.phx_ref);
  const joined: WorkspaceViewerMeta[] = [];
  for (const viewer of is.values()) {
    const old = sameWorkspace ? was.get(keyOf(viewer)) : undefined;
    if (old === undefined) joined.push(viewer);
    else if (old.meta.phx_ref !== viewer.meta.phx_ref) joined.push({ ...viewer, meta: { ...viewer.meta, phx_ref_prev: old.meta.phx_ref } });
  }
  return { left, joined };
}

function viewersByKey(state: UserPresenceState): Map<string, WorkspaceViewerMeta> {
  const { workspaceId } = state;
  if (workspaceId === null) return new Map();
  return new Map(viewerMetasOf(state).map((viewer) => [keyOf(viewer), { ...viewer, workspaceId }]));
}

const keyOf = (viewer: ViewerMeta): string => `${viewer.topic}\0${viewer.connectionId}`;

export function sortedById(connections: ReadonlyMap<string, PresenceConnection>): PresenceConnection[] {
  return [...connections.values()].sort((a, b) => compare(a.connectionId, b.connectionId));
}

function sortedConnections(state: UserPresenceState): PresenceConnection[] {
  return [...state.connections.values()].sort((a, b) => a.onlineAt - b.onlineAt || compare(a.connectionId, b.connectionId));
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

