import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import type { LeaveHuddle } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import { PRESENCE_POLICY_ACTOR } from "../../../../platform/domain/system-actors.js";

/** The projection of `quikapp.huddles.events` that knows which connection each participant is in a huddle from. */
export const HUDDLE_CONNECTIONS_PROJECTION = "huddle-connections";
/** The projection of `quikapp.presence.events` that removes the participants of closed connections. */
export const LOST_CONNECTIONS_PROJECTION = "huddle-lost-connections";

/**
 * How long a closed connection is remembered (from its close): a join from it that the policy
 * reads this much later than the close still gets its `connection_lost`. A join decided before the
 * close and read after it only happens while one projection lags behind the other, by far less.
 */
export const CLOSED_CONNECTION_MEMORY_MS = 60 * 60_000;

/**
 * Where the presence policy of huddles keeps what it knows, in Redis (`<p>` is the topic prefix):
 *
 * - `<p>huddle-connections:in:<huddleId>` hash: userId → the connection the participant is in the
 *   huddle from (participants who joined over REST have none and are not listed);
 * - `<p>huddle-connections:of:<connectionId>` hash: huddleId → {@link Participation} JSON, the
 *   same facts by connection;
 * - `<p>huddle-connections:checkpoint` hash: the checkpoint of {@link HUDDLE_CONNECTIONS_PROJECTION};
 * - `<p>huddle-lost-connections:closed:<connectionId>`: the user of a closed connection, expiring
 *   {@link CLOSED_CONNECTION_MEMORY_MS} after its close;
 * - `<p>huddle-lost-connections:checkpoint` hash: the checkpoint of {@link LOST_CONNECTIONS_PROJECTION}.
 */
export function lostConnectionKeys(prefix: string) {
  const participations = `${prefix}huddle-connections:`;
  const lost = `${prefix}huddle-lost-connections:`;
  return {
    participations: { checkpoint: `${participations}checkpoint`, keyPrefix: participations },
    huddle: (huddleId: string) => `${participations}in:${huddleId}`,
    connection: (connectionId: string) => `${participations}of:${connectionId}`,
    lost: { checkpoint: `${lost}checkpoint`, keyPrefix: lost },
    closed: (connectionId: string) => `${lost}closed:${connectionId}`,
  };
}

/** A user in a huddle from a connection, as `<p>huddle-connections:of:<connectionId>` holds it. */
export interface Participation {
  readonly userId: string;
  readonly workspaceId: string;
}

/** Where a participant is in a huddle from, as `<p>huddle-connections:in:<huddleId>` holds it. */
export interface Seat {
  readonly connectionId: string;
  readonly workspaceId: string;
}

/** What caused a removal: the event it follows from. */
interface Cause {
  readonly eventId: string;
  readonly occurredAt: number;
  readonly correlationId: string;
  readonly workspaceId: string;
}

/**
 * The `LeaveHuddle` (`connection_lost`) of `userId`'s participation from `connectionId`, issued by
 * the presence policy (`system:presence`) at the time of `cause`, its id derived from the cause
 * and the huddle: a redelivered cause yields the same command, which the processor answers as a
 * duplicate, and the aggregate ignores a leave for a connection that is no longer the
 * participant's, so a removal happens once.
 */
export function lostConnectionLeave(huddleId: string, userId: string, connectionId: string, cause: Cause): LeaveHuddle {
  return {
    meta: {
      commandId: `lost-connection:${cause.eventId}:${huddleId}`,
      correlationId: cause.correlationId,
      actorId: PRESENCE_POLICY_ACTOR,
      workspaceId: cause.workspaceId,
      issuedAt: cause.occurredAt,
      replyTo: null,
    },
    huddleId,
    userId,
    connectionId,
    reason: "connection_lost",
  };
}

/** The huddles the huddle events of `records` name, once each. */
export function huddleIdsOf(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): string[] {
  return [...new Set(records.flatMap((record) => eventOf(record, "huddles")?.data.huddleId ?? []))];
}

/** The connections participants joined from in `records`, once each. */
export function joinedConnectionsOf(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): string[] {
  const connections = records.flatMap((record) => {
    const event = eventOf(record, "huddles");
    return event?.type === "HuddleParticipantJoined" && event.data.connectionId !== null ? [event.data.connectionId] : [];
  });
  return [...new Set(connections)];
}

/**
 * Folds huddle events into the participants' seats of each huddle they name (`stored`:
 * userId → {@link Seat}, as read; the result has an entry for every huddle named, empty once
 * nobody is in it from a connection). A participant who joins from a connection in `closed` (its
 * close was read before this join) is removed at once: a {@link lostConnectionLeave} caused by the
 * join. Pure; `stored` is not changed.
 */
export function foldParticipations(
  stored: ReadonlyMap<string, ReadonlyMap<string, Seat>>,
  closed: ReadonlySet<string>,
  records: readonly Pick<ConsumedRecord, "fullName" | "value">[],
): { readonly huddles: Map<string, Map<string, Seat>>; readonly leaves: LeaveHuddle[] } {
  const huddles = new Map<string, Map<string, Seat>>();
  const leaves: LeaveHuddle[] = [];
  const of = (huddleId: string) => {
    let connections = huddles.get(huddleId);
    if (connections === undefined) {
      connections = new Map(stored.get(huddleId));
      huddles.set(huddleId, connections);
    }
    return connections;
  };
  for (const record of records) {
    const event = eventOf(record, "huddles");
    if (event === undefined) continue;
    const connections = of(event.data.huddleId);
    switch (event.type) {
      case "HuddleParticipantJoined": {
        const { huddleId, userId, connectionId, meta } = event.data;
        if (connectionId === null) {
          connections.delete(userId);
          break;
        }
        connections.set(userId, { connectionId, workspaceId: meta.workspaceId });
        if (closed.has(connectionId)) leaves.push(lostConnectionLeave(huddleId, userId, connectionId, meta));
        break;
      }
      case "HuddleParticipantLeft":
        connections.delete(event.data.userId);
        break;
      case "HuddleEnded":
        connections.clear();
        break;
      default:
        break;
    }
  }
  return { huddles, leaves };
}

/** A connection presence closed, as `records` tell it. */
export interface ClosedConnection extends Cause {
  readonly connectionId: string;
  readonly userId: string;
}

/** The connections `records` close (`ConnectionClosed`, whatever closed them), in record order. */
export function closedConnectionsOf(records: readonly Pick<ConsumedRecord, "fullName" | "value">[]): ClosedConnection[] {
  return records.flatMap((record) => {
    const event = eventOf(record, "presence");
    if (event?.type !== "ConnectionClosed") return [];
    const { connectionId, userId, meta } = event.data;
    return [{ connectionId, userId, eventId: meta.eventId, occurredAt: meta.occurredAt, correlationId: meta.correlationId, workspaceId: meta.workspaceId }];
  });
}

/**
 * The removals a closed connection causes: one {@link lostConnectionLeave} per huddle it is a
 * participant's connection in (`participations`: huddleId → participation), in huddle-id order.
 */
export function leavesOfClosed(closedConnection: ClosedConnection, participations: ReadonlyMap<string, Participation>): LeaveHuddle[] {
  return [...participations.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([huddleId, { userId, workspaceId }]) => lostConnectionLeave(huddleId, userId, closedConnection.connectionId, { ...closedConnection, workspaceId }));
}
