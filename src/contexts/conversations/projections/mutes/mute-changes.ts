import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";

/** The projection's name: its consumer group, its checkpoints, its name in `quikchat projections`. */
export const MUTES_PROJECTION = "mutes";

/** What one conversation event changes in the mutes read model. */
export type MuteChange =
  /** The member muted the conversation, until `until` (null: until unmuted). */
  | { readonly kind: "muted"; readonly conversationId: string; readonly userId: string; readonly until: number | null }
  /** The member unmuted it, or left it (the setting goes with the membership). */
  | { readonly kind: "unmuted"; readonly conversationId: string; readonly userId: string };

/** The mute changes of one record of `quikapp.conversations.events` (pure). */
export function muteChanges(record: Pick<ConsumedRecord, "fullName" | "value">): MuteChange[] {
  const event = eventOf(record, "conversations");
  switch (event?.type) {
    case "ConversationMuteSet": {
      const { conversationId, userId, muted, mutedUntil } = event.data;
      return [muted ? { kind: "muted", conversationId, userId, until: mutedUntil } : { kind: "unmuted", conversationId, userId }];
    }
    case "MemberRemoved":
      return [{ kind: "unmuted", conversationId: event.data.conversationId, userId: event.data.userId }];
    default:
      return [];
  }
}
