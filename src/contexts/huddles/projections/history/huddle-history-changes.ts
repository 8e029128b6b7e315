import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import type { HuddleEndReason, HuddleLeaveReason } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";

/** The projection's name: its consumer group, its checkpoints, its name in `quikchat projections`. */
export const HUDDLE_HISTORY_PROJECTION = "huddle-history";

/** Why a participation ended: the participant's leave reason, or `ended` when the huddle ended with them in it. */
export type ParticipationEnd = HuddleLeaveReason | "ended";

/**
 * What one huddle event changes in the history. `version` is the event's offset: all events of a
 * huddle share one partition, so versions grow along a huddle's life and order its participations.
 */
export type HuddleHistoryChange =
  | {
      readonly kind: "created";
      readonly huddleId: string;
      readonly workspaceId: string;
      readonly conversationId: string | null;
      readonly title: string | null;
      readonly createdBy: string;
      readonly createdAt: number;
      readonly version: number;
    }
  | { readonly kind: "invited"; readonly huddleId: string; readonly userIds: readonly string[] }
  | { readonly kind: "joined"; readonly huddleId: string; readonly workspaceId: string; readonly userId: string; readonly joinedAt: number; readonly version: number }
  | { readonly kind: "left"; readonly huddleId: string; readonly userId: string; readonly leftAt: number; readonly reason: HuddleLeaveReason; readonly version: number }
  | {
      readonly kind: "ended";
      readonly huddleId: string;
      readonly endedAt: number;
      readonly reason: HuddleEndReason;
      readonly endedBy: string | null;
      readonly durationMs: number;
      readonly version: number;
    };

/**
 * The history changes of one record of `quikapp.huddles.events` (pure): the huddle's creation,
 * invitations and end, and each participation's join and leave. Media and hand toggles are live
 * state only (the live-huddles read model) and change nothing here.
 */
export function huddleHistoryChanges(record: Pick<ConsumedRecord, "fullName" | "value" | "offset">): HuddleHistoryChange[] {
  const event = eventOf(record, "huddles");
  if (event === undefined) return [];
  const version = record.offset;
  const { huddleId, meta } = event.data;
  switch (event.type) {
    case "HuddleCreated": {
      const { conversationId, title, createdBy } = event.data;
      return [{ kind: "created", huddleId, workspaceId: meta.workspaceId, conversationId, title, createdBy, createdAt: meta.occurredAt, version }];
    }
    case "HuddleParticipantsInvited":
      return [{ kind: "invited", huddleId, userIds: event.data.userIds }];
    case "HuddleParticipantJoined":
      return [{ kind: "joined", huddleId, workspaceId: meta.workspaceId, userId: event.data.userId, joinedAt: meta.occurredAt, version }];
    case "HuddleParticipantLeft":
      return [{ kind: "left", huddleId, userId: event.data.userId, leftAt: meta.occurredAt, reason: event.data.reason, version }];
    case "HuddleEnded": {
      const { reason, endedBy, durationMs } = event.data;
      return [{ kind: "ended", huddleId, endedAt: meta.occurredAt, reason, endedBy, durationMs, version }];
    }
    default:
      return [];
  }
}
