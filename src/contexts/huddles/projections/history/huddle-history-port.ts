import type { HuddleEndReason } from "../../../../platform/contract/generated/avro-types.js";
import type { ParticipationEnd } from "./huddle-history-changes.js";

/** One stay of a user in a huddle, from a join to its leave (times in epoch milliseconds). */
export interface ParticipationView {
  readonly userId: string;
  readonly joinedAt: number;
  /** Null while they are in it. */
  readonly leftAt: number | null;
  /** Why they left (`ended`: the huddle ended with them in it); null while they are in it. */
  readonly reason: ParticipationEnd | null;
}

/** A huddle as its history keeps it (times in epoch milliseconds). */
export interface HuddleRecordView {
  readonly huddleId: string;
  readonly workspaceId: string;
  /** The conversation it was started in; null for a standalone huddle. */
  readonly conversationId: string | null;
  readonly title: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
  /** Everyone invited, in code-unit order. */
  readonly invited: readonly string[];
  /** Null while it is live. */
  readonly endedAt: number | null;
  readonly endReason: HuddleEndReason | null;
  /** Its creator when they ended it; null otherwise. */
  readonly endedBy: string | null;
  readonly durationMs: number | null;
}

/** A huddle with every participation, in the order they began. */
export interface HuddleHistoryView extends HuddleRecordView {
  readonly participations: readonly ParticipationView[];
}

/** Where a page of {@link HuddleHistoryReadModel.huddlesOfConversation} starts: after this huddle in newest-first order. */
export interface HuddlesCursor {
  readonly createdAt: number;
  readonly huddleId: string;
}

/**
 * The huddles' history as the gateway reads it (for REST). Eventually consistent with
 * `quikapp.huddles.events`: a huddle appears once its `HuddleCreated` is projected.
 *
 * Nothing crosses workspaces: a huddle of another workspace is answered as an unknown one. Who in
 * the workspace may read a huddle is the caller's check (the conversation's members; for a
 * standalone huddle {@link involves} says who took part in it).
 *
 * - `huddle`: the huddle with its participations, joins in log order.
 * - `huddlesOfConversation`: the conversation's huddles, newest `createdAt` first (ties by id),
 *   `limit` at most, after `after` when given, without their participations; `next` is the
 *   cursor of the following page, present when there may be one.
 */
export interface HuddleHistoryReadModel {
  huddle(huddleId: string, workspaceId: string): Promise<HuddleHistoryView | undefined>;
  huddlesOfConversation(
    conversationId: string,
    workspaceId: string,
    page: { readonly limit: number; readonly after?: HuddlesCursor },
  ): Promise<{ huddles: HuddleRecordView[]; next?: HuddlesCursor }>;
}

/** Whether `userId` took part in the huddle: created it, was invited, or joined it at some time. */
export function involves(huddle: HuddleHistoryView, userId: string): boolean {
  return huddle.createdBy === userId || huddle.invited.includes(userId) || huddle.participations.some((participation) => participation.userId === userId);
}
