import type { HuddlesEvent } from "../../../platform/contract/generated/avro-types.js";
import type { EventPosition } from "./call-policy.js";
import type { RequestedNotification } from "./message-policy.js";

/** What the policy keeps of a live huddle: what an invitation's notification shows. */
export interface InvitingHuddle {
  readonly conversationId: string | null;
  readonly title: string | null;
}

/** A huddle's state after an event and the invitations the event calls for. */
export interface HuddleStep {
  /** undefined once the huddle is over (or for an event of a huddle the policy never saw start). */
  readonly huddle: InvitingHuddle | undefined;
  readonly notifications: readonly RequestedNotification[];
}

/**
 * One huddle event through the policy (pure and total):
 * - `HuddleCreated`: the huddle is followed;
 * - `HuddleParticipantsInvited`: a `huddle_invite` (priority high) for each user invited, unless
 *   the invitation is older than `maxAgeMs` at `now` (a rebuild, a long outage) or the huddle was
 *   never seen to start;
 * - `HuddleEnded`: the huddle is forgotten (what the outbox still holds of it is dropped there).
 * Id: `huddle:<huddleId>:invite:<userId>:<partition>.<offset>`, so a replay of the invitation asks
 * again with the same id; collapse key per huddle.
 */
export function huddleStep(
  huddle: InvitingHuddle | undefined,
  event: HuddlesEvent,
  position: EventPosition,
  now: number,
  maxAgeMs: number,
  nameOf: (userId: string) => string,
): HuddleStep {
  switch (event.type) {
    case "HuddleCreated": {
      const { conversationId, title } = event.data;
      return { huddle: huddle ?? { conversationId, title }, notifications: [] };
    }
    case "HuddleParticipantsInvited": {
      const { huddleId, userIds, meta } = event.data;
      if (huddle === undefined || now - meta.occurredAt > maxAgeMs) return { huddle, notifications: [] };
      const invitees = [...new Set(userIds)].filter((userId) => userId !== meta.actorId);
      return { huddle, notifications: invitees.map((userId) => invitation(huddleId, huddle, userId, meta.actorId, position, nameOf)) };
    }
    case "HuddleEnded":
      return { huddle: undefined, notifications: [] };
    default:
      return { huddle, notifications: [] };
  }
}

function invitation(huddleId: string, huddle: InvitingHuddle, userId: string, invitedBy: string, { partition, offset }: EventPosition, nameOf: (userId: string) => string): RequestedNotification {
  return {
    userId,
    notificationId: `huddle:${huddleId}:invite:${userId}:${partition}.${offset}`,
    category: "huddle_invite",
    title: `${nameOf(invitedBy)} invited you to a huddle`,
    body: huddle.title ?? "Tap to join",
    data: { huddleId, ...(huddle.conversationId === null ? {} : { conversationId: huddle.conversationId }) },
    conversationId: huddle.conversationId,
    messageId: null,
    callId: null,
    huddleId,
    priority: "high",
    collapseKey: `huddle:${huddleId}`,
  };
}
