import type { DevicePlatform, EventMeta, PresenceStatus } from "../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../platform/domain/decider.js";
import { own } from "../../../platform/domain/own-entry.js";
import type { PresenceEvent } from "./events.js";

/** One open connection of the user. Times are epoch milliseconds. */
export interface PresenceConnection {
  readonly gatewayId: string;
  readonly deviceId: string | null;
  readonly platform: DevicePlatform;
  readonly openedAt: number;
  /** The last heartbeat; `openedAt` until the first one. */
  readonly refreshedAt: number;
  /**
   * Staleness deadline: without a heartbeat before then, the connection's timer closes it. For a
   * closing connection, the end of its reconnect grace.
   */
  readonly expiresAt: number;
  /**
   * When its socket closed with a code after which the client reconnects at once: the
   * connection is kept (the user stays online) until a new connection of the same device or
   * `expiresAt`. Omitted while the socket is open.
   */
  readonly closingSince?: number;
  /**
   * The topics whose viewers the connection is among (`comments:{videoId}`), in code unit order.
   * Omitted when none (and in states written before topics existed).
   */
  readonly topics?: readonly string[];
}

/** A user nothing has happened to yet: no connection, the default status. */
export interface UnknownPresence {
  readonly status: "unknown";
}

/** A user who has connected or chosen a status at least once. */
export interface KnownPresence {
  readonly status: "known";
  /** The workspace of the first command about the user; the timer's commands carry it. */
  readonly workspaceId: string;
  /** The status the user chose; `offline` means "appear offline" while connected. */
  readonly chosenStatus: PresenceStatus;
  readonly statusText: string | null;
  /** Open connections by connection id; the user is online while there is one. */
  readonly connections: Readonly<Record<string, PresenceConnection>>;
  /** When the user last went offline (epoch milliseconds); null until then. */
  readonly lastSeenAt: number | null;
}

/** The presence of one user. Plain objects and numbers only: it survives the changelog's JSON round trip. */
export type PresenceState = UnknownPresence | KnownPresence;

/** The status a user shows before choosing one. */
export const DEFAULT_STATUS: PresenceStatus = "online";

export function initialState(): PresenceState {
  return { status: "unknown" };
}

/** The user's open connections by id (none while unknown). */
export function connectionsOf(state: PresenceState): Readonly<Record<string, PresenceConnection>> {
  return state.status === "known" ? state.connections : {};
}

/** The status the user chose and its text (the defaults while unknown). */
export function chosenStatusOf(state: PresenceState): { readonly status: PresenceStatus; readonly statusText: string | null } {
  return state.status === "known" ? { status: state.chosenStatus, statusText: state.statusText } : { status: DEFAULT_STATUS, statusText: null };
}

/**
 * The next deadline of the user's connections (staleness, or the end of a closing one's grace):
 * the earliest `expiresAt` and every connection due at that very instant (sorted by id), or
 * undefined without connections.
 */
export function nextExpiry(state: PresenceState): { readonly at: number; readonly connectionIds: string[] } | undefined {
  let at: number | undefined;
  let connectionIds: string[] = [];
  for (const [connectionId, { expiresAt }] of Object.entries(connectionsOf(state))) {
    if (at === undefined || expiresAt < at) {
      at = expiresAt;
      connectionIds = [connectionId];
    } else if (expiresAt === at) {
      connectionIds.push(connectionId);
    }
  }
  return at === undefined ? undefined : { at, connectionIds: connectionIds.sort(byCodeUnits) };
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: PresenceState, event: PresenceEvent): PresenceState {
  switch (event.type) {
    case "ConnectionOpened": {
      const { data } = event;
      const known = knownFrom(state, data.meta);
      const connection: PresenceConnection = {
        gatewayId: data.gatewayId,
        deviceId: data.deviceId,
        platform: data.platform,
        openedAt: data.meta.occurredAt,
        refreshedAt: data.meta.occurredAt,
        expiresAt: data.expiresAt,
      };
      return { ...known, connections: { ...known.connections, [data.connectionId]: connection } };
    }
    case "ConnectionRefreshed": {
      const { data } = event;
      return withConnection(state, data.connectionId, (connection) => ({ ...connection, refreshedAt: data.meta.occurredAt, expiresAt: data.expiresAt }));
    }
    case "ConnectionClosing": {
      const { data } = event;
      return withConnection(state, data.connectionId, (connection) => ({ ...connection, closingSince: data.meta.occurredAt, expiresAt: data.expiresAt }));
    }
    case "ConnectionClosed": {
      if (state.status !== "known" || own(state.connections, event.data.connectionId) === undefined) return state;
      const { [event.data.connectionId]: _closed, ...connections } = state.connections;
      return { ...state, connections };
    }
    case "UserOnline":
      return { ...knownFrom(state, event.data.meta), chosenStatus: event.data.status, statusText: event.data.statusText };
    case "UserOffline":
      return { ...knownFrom(state, event.data.meta), lastSeenAt: event.data.lastSeenAt };
    case "StatusChanged":
      return { ...knownFrom(state, event.data.meta), chosenStatus: event.data.status, statusText: event.data.statusText };
    case "TopicJoined": {
      const { topic } = event.data;
      return withConnection(state, event.data.connectionId, (connection) =>
        topicsOf(connection).includes(topic) ? connection : { ...connection, topics: [...topicsOf(connection), topic].sort(byCodeUnits) },
      );
    }
    case "TopicLeft": {
      const { topic } = event.data;
      return withConnection(state, event.data.connectionId, (connection) => {
        if (!topicsOf(connection).includes(topic)) return connection;
        const { topics: _left, ...rest } = connection;
        const topics = topicsOf(connection).filter((joined) => joined !== topic);
        return topics.length === 0 ? rest : { ...rest, topics };
      });
    }
    // The profile matters to the read model's metas only; deciding never needs it.
    case "ProfileChanged":
      return state;
    default:
      return unreachable(event);
  }
}

/** The topics the connection views, in code unit order. */
export function topicsOf(connection: Pick<PresenceConnection, "topics">): readonly string[] {
  return connection.topics ?? [];
}

/** The state with `change` applied to one of its connections; unchanged when it has no such connection. */
function withConnection(state: PresenceState, connectionId: string, change: (connection: PresenceConnection) => PresenceConnection): PresenceState {
  if (state.status !== "known") return state;
  const connection = own(state.connections, connectionId);
  if (connection === undefined) return state;
  return { ...state, connections: { ...state.connections, [connectionId]: change(connection) } };
}

function knownFrom(state: PresenceState, meta: EventMeta): KnownPresence {
  if (state.status === "known") return state;
  return { status: "known", workspaceId: meta.workspaceId, chosenStatus: DEFAULT_STATUS, statusText: null, connections: {}, lastSeenAt: null };
}

/** Orders ids by UTF-16 code units: the same order on every machine (unlike `localeCompare`). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
