import type {
  ConnectClient,
  ConnectionCloseReason,
  DisconnectClient,
  ExpirePresence,
  JoinTopic,
  LeaveTopic,
  PresenceHeartbeat,
  SetStatus,
  UpdateProfile,
} from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { own } from "../../../platform/domain/own-entry.js";
import { USER_SERVICE_ACTOR } from "../../../platform/domain/system-actors.js";
import type { PresenceCommand } from "./commands.js";
import type { DecidedPresenceEvent, PresenceEvent } from "./events.js";
import {
  byCodeUnits,
  chosenStatusOf,
  connectionsOf,
  evolve,
  initialState,
  topicsOf,
  type PresenceConnection,
  type PresenceState,
} from "./state.js";

/** Configuration of the presence rules. */
export interface PresenceOptions {
  /** A connection without a heartbeat for this long is stale: its deadline is `issuedAt + connectionTtlMs` of its last open or heartbeat. */
  readonly connectionTtlMs: number;
  /**
   * Sockets closed with one of `closeCodes` (codes after which the client reconnects at once,
   * such as an expired token's) keep their connection for `ms`, so that a reconnect shows no
   * leave and no join. Absent: every close closes the connection at once.
   */
  readonly reconnectGrace?: { readonly ms: number; readonly closeCodes: readonly number[] };
}

/** Limits of what a user may set (lengths count Unicode code points) and of the topics a connection views (lengths count UTF-16 code units). */
export const PRESENCE_LIMITS = {
  maxStatusTextLength: 100,
  maxTopicLength: 200,
  /** Phoenix's own limit of channels per socket: a connection never needs more. */
  maxTopicsPerConnection: 100,
} as const;

/** Throws `invalid_topic` unless `topic` may be viewed: 1 to {@link PRESENCE_LIMITS}`.maxTopicLength` characters. */
export function validateTopic(topic: string): void {
  if (topic === "" || topic.length > PRESENCE_LIMITS.maxTopicLength) {
    throw new DomainError("invalid_topic", `a topic has 1 to ${PRESENCE_LIMITS.maxTopicLength} characters`);
  }
}

/**
 * The presence aggregate of one user (key: userId).
 *
 * - connect: opens the connection with the deadline `issuedAt + connectionTtlMs`. The user's
 *   first connection also makes the user online: `ConnectionOpened` then `UserOnline` (with
 *   the chosen status and text), in that order, so a reader applying them sees a connection when
 *   the user comes online. Closing connections of the same device (same `deviceId` and
 *   `platform`) are then closed (`disconnected`): the new connection takes over from them, the
 *   user never went offline, so no `UserOnline`. A connection already known is a no-op.
 * - disconnect: closes the connection (`disconnected`); closing the last one also makes the user
 *   offline, `lastSeenAt` = `issuedAt`: `ConnectionClosed` then `UserOffline`. With a close code
 *   of the reconnect grace, unless the same device already has a newer connection, the
 *   connection is only marked closing instead (`ConnectionClosing`, deadline `issuedAt` + the
 *   grace): the user stays online. A connection not open, or already closing, is a no-op.
 * - heartbeat: moves an open connection's deadline to `issuedAt + connectionTtlMs`; a connection
 *   not open or closing, or a deadline that would not move forward (a retried or late
 *   heartbeat), is a no-op.
 * - set status: changes the chosen status and text (`offline` = appear offline; the default is
 *   `online` without text), whether connected or not. The same status and text again is a no-op;
 *   a text over {@link PRESENCE_LIMITS} is `invalid`.
 * - expire, `stale`: closes each of `connectionIds` (every connection when empty) whose deadline
 *   is at or before `issuedAt` (`stale`; `disconnected` for a closing one whose grace ended), so a
 *   late timer or one for a connection refreshed since closes nothing. `gateway_down`: closes
 *   every connection on `gatewayId` (a `gateway_down` without one is `invalid`), only those of
 *   `connectionIds` when given. When no connection is left, `UserOffline` follows, `lastSeenAt` =
 *   the latest sign of life of the connections closed: when a closing one closed its socket, the
 *   latest heartbeat (or open) of a stale one, `issuedAt` for a dead gateway's.
 *   Connections close in id order. Nothing to close is a no-op.
 * - join topic: the open connection views the topic (`TopicJoined`), a topic whose viewers are
 *   shown such as `comments:{videoId}`. An invalid topic (empty, over 200 characters) is
 *   `invalid_topic`; a connection viewing {@link PRESENCE_LIMITS}`.maxTopicsPerConnection` topics
 *   already is `too_many_topics`. A topic already joined, or a connection not open (unknown,
 *   closed, or closing), is a no-op.
 * - leave topic: `TopicLeft` (`left`) for a topic the connection views; otherwise a no-op.
 * - Every `ConnectionClosed` (whatever closed it: a disconnect, a replacement, the timer, a dead
 *   gateway) comes right after a `TopicLeft` (`connection_closed`) for each of the connection's
 *   topics, in topic order, so a reader of the topic's viewers never sees a closed connection
 *   still viewing.
 *
 * - update profile: `ProfileChanged` with the display name and avatar others see in the user's
 *   metas, from the user service only (`system:users`; anyone else is `forbidden`).
 *
 * Connection ids are unique across gateways; the actor is not checked (gateways and sweepers
 * issue these commands for the user).
 */
export function presenceDecider(options: PresenceOptions): Decider<PresenceCommand, PresenceEvent, PresenceState> {
  return {
    initialState,
    evolve,
    decide: (command, state) => decide(command, state, options),
  };
}

function decide(command: PresenceCommand, state: PresenceState, options: PresenceOptions): DecidedPresenceEvent[] {
  switch (command.type) {
    case "ConnectClient":
      return connect(command.data, state, options);
    case "DisconnectClient":
      return disconnect(command.data, state, options);
    case "PresenceHeartbeat":
      return heartbeat(command.data, state, options);
    case "SetStatus":
      return setStatus(command.data, state);
    case "ExpirePresence":
      return expire(command.data, state);
    case "UpdateProfile":
      return updateProfile(command.data);
    case "JoinTopic":
      return joinTopic(command.data, state);
    case "LeaveTopic":
      return leaveTopic(command.data, state);
    default:
      return unreachable(command);
  }
}

function updateProfile(command: UpdateProfile): DecidedPresenceEvent[] {
  if (command.meta.actorId !== USER_SERVICE_ACTOR) throw new DomainError("forbidden", "profiles come from the user service");
  const { userId, displayName, avatarUrl } = command;
  return [{ type: "ProfileChanged", data: { userId, displayName, avatarUrl } }];
}

function joinTopic(command: JoinTopic, state: PresenceState): DecidedPresenceEvent[] {
  const { userId, connectionId, topic } = command;
  validateTopic(topic);
  const connection = own(connectionsOf(state), connectionId);
  if (connection === undefined || connection.closingSince !== undefined) return [];
  const topics = topicsOf(connection);
  if (topics.includes(topic)) return [];
  if (topics.length >= PRESENCE_LIMITS.maxTopicsPerConnection) {
    throw new DomainError("too_many_topics", `a connection views at most ${PRESENCE_LIMITS.maxTopicsPerConnection} topics`);
  }
  return [{ type: "TopicJoined", data: { userId, connectionId, topic } }];
}

function leaveTopic(command: LeaveTopic, state: PresenceState): DecidedPresenceEvent[] {
  const { userId, connectionId, topic } = command;
  validateTopic(topic);
  const connection = own(connectionsOf(state), connectionId);
  if (connection === undefined || !topicsOf(connection).includes(topic)) return [];
  return [{ type: "TopicLeft", data: { userId, connectionId, topic, reason: "left" } }];
}

function connect(command: ConnectClient, state: PresenceState, { connectionTtlMs }: PresenceOptions): DecidedPresenceEvent[] {
  const connections = connectionsOf(state);
  if (own(connections, command.connectionId) !== undefined) return [];
  const { userId, connectionId, deviceId, gatewayId, platform } = command;
  const opened: DecidedPresenceEvent = {
    type: "ConnectionOpened",
    data: { userId, connectionId, deviceId, gatewayId, platform, expiresAt: command.meta.issuedAt + connectionTtlMs },
  };
  if (Object.keys(connections).length === 0) {
    const { status, statusText } = chosenStatusOf(state);
    return [opened, { type: "UserOnline", data: { userId, status, statusText } }];
  }
  const replaced = Object.entries(connections).filter(([, connection]) => connection.closingSince !== undefined && sameDevice(connection, command));
  return [opened, ...closedEvents(userId, replaced, "disconnected")];
}

function disconnect(command: DisconnectClient, state: PresenceState, { reconnectGrace }: PresenceOptions): DecidedPresenceEvent[] {
  const connections = connectionsOf(state);
  const connection = own(connections, command.connectionId);
  if (connection === undefined || connection.closingSince !== undefined) return [];
  const { userId, connectionId, closeCode } = command;
  const { issuedAt } = command.meta;
  // A reconnect decided first (it reached another gateway sooner) already took over.
  const replacedAlready = Object.entries(connections).some(
    ([id, other]) => id !== connectionId && other.closingSince === undefined && other.openedAt >= connection.openedAt && sameDevice(other, connection),
  );
  if (closeCode !== null && reconnectGrace !== undefined && reconnectGrace.ms > 0 && reconnectGrace.closeCodes.includes(closeCode) && !replacedAlready) {
    return [{ type: "ConnectionClosing", data: { userId, connectionId, closeCode, expiresAt: issuedAt + reconnectGrace.ms } }];
  }
  return close(userId, state, [[connectionId, connection]], "disconnected", issuedAt);
}

function heartbeat(command: PresenceHeartbeat, state: PresenceState, { connectionTtlMs }: PresenceOptions): DecidedPresenceEvent[] {
  const connection = own(connectionsOf(state), command.connectionId);
  const expiresAt = command.meta.issuedAt + connectionTtlMs;
  if (connection === undefined || connection.closingSince !== undefined || expiresAt <= connection.expiresAt) return [];
  return [{ type: "ConnectionRefreshed", data: { userId: command.userId, connectionId: command.connectionId, expiresAt } }];
}

function setStatus(command: SetStatus, state: PresenceState): DecidedPresenceEvent[] {
  if (command.statusText !== null && codePoints(command.statusText) > PRESENCE_LIMITS.maxStatusTextLength) {
    throw new DomainError("invalid", `a status text has at most ${PRESENCE_LIMITS.maxStatusTextLength} characters`);
  }
  const current = chosenStatusOf(state);
  if (command.status === current.status && command.statusText === current.statusText) return [];
  return [
    {
      type: "StatusChanged",
      data: { userId: command.userId, status: command.status, previousStatus: current.status, statusText: command.statusText },
    },
  ];
}

function expire(command: ExpirePresence, state: PresenceState): DecidedPresenceEvent[] {
  const listed = command.connectionIds.length > 0 ? new Set(command.connectionIds) : undefined;
  const candidates = Object.entries(connectionsOf(state)).filter(([connectionId]) => listed?.has(connectionId) ?? true);
  const { issuedAt } = command.meta;
  switch (command.reason) {
    case "stale":
      return close(
        command.userId,
        state,
        candidates.filter(([, connection]) => connection.expiresAt <= issuedAt),
        "stale",
        issuedAt,
      );
    case "gateway_down": {
      const { gatewayId } = command;
      if (gatewayId === null) throw new DomainError("invalid", "a gateway_down expiry names the gateway");
      return close(
        command.userId,
        state,
        candidates.filter(([, connection]) => connection.gatewayId === gatewayId),
        "gateway_down",
        issuedAt,
      );
    }
    default:
      return unreachable(command.reason);
  }
}

/**
 * Closes `closing` (connections of the user) in id order, and makes the user offline when none
 * is left, last seen at the latest sign of life of those connections (see `decide`).
 */
function close(
  userId: string,
  state: PresenceState,
  closing: readonly (readonly [string, PresenceConnection])[],
  reason: ConnectionCloseReason,
  issuedAt: number,
): DecidedPresenceEvent[] {
  if (closing.length === 0) return [];
  const events = closedEvents(userId, closing, reason);
  if (closing.length < Object.keys(connectionsOf(state)).length) return events;
  const lastSeenAt = Math.max(...closing.map(([, connection]) => connection.closingSince ?? (reason === "stale" ? connection.refreshedAt : issuedAt)));
  return [...events, { type: "UserOffline", data: { userId, lastSeenAt } }];
}

/**
 * `ConnectionClosed` of each of `closing`, in id order, each after the `TopicLeft` of the topics it
 * viewed; one whose grace ended was `disconnected`, not stale.
 */
function closedEvents(userId: string, closing: readonly (readonly [string, PresenceConnection])[], reason: ConnectionCloseReason): DecidedPresenceEvent[] {
  return [...closing]
    .sort(([a], [b]) => byCodeUnits(a, b))
    .flatMap(([connectionId, connection]): DecidedPresenceEvent[] => [
      ...topicsOf(connection).map((topic): DecidedPresenceEvent => ({ type: "TopicLeft", data: { userId, connectionId, topic, reason: "connection_closed" } })),
      {
        type: "ConnectionClosed",
        data: { userId, connectionId, gatewayId: connection.gatewayId, reason: reason === "stale" && connection.closingSince !== undefined ? "disconnected" : reason },
      },
    ]);
}

/** Whether two connections come from the same device, as far as the clients said (a device id, or none, and a platform). */
function sameDevice(a: Pick<PresenceConnection, "deviceId" | "platform">, b: Pick<PresenceConnection, "deviceId" | "platform">): boolean {
  return a.deviceId === b.deviceId && a.platform === b.platform;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _codePoint of text) count++;
  return count;
}
