import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";

/** The name of the read-positions projection: its consumer group and its checkpoints. */
export const READ_POSITIONS_PROJECTION = "read-positions";

/** One change to the read positions of a conversation, derived from one messages event. */
export type ReadPositionChange =
  /** A message was sent: the conversation's last seq and activity time move, and so does its sender's read position. */
  | { readonly kind: "message"; readonly conversationId: string; readonly seq: number; readonly senderId: string; readonly at: number }
  /** A member read up to `seq`. */
  | { readonly kind: "read"; readonly conversationId: string; readonly userId: string; readonly seq: number };

/**
 * The read-position changes an event stands for (pure): `MessageSent` and `MessageRead`; events
 * of other types change nothing. Every change only moves positions forward, so applying the
 * same changes twice leaves the read model as applying them once.
 */
export function readPositionChanges(record: Pick<ConsumedRecord, "fullName" | "value">): ReadPositionChange[] {
  const event = eventOf(record, "messages");
  switch (event?.type) {
    case "MessageSent": {
      const { conversationId, seq, senderId, meta } = event.data;
      return [{ kind: "message", conversationId, seq, senderId, at: meta.occurredAt }];
    }
    case "MessageRead": {
      const { conversationId, userId, seq } = event.data;
      return [{ kind: "read", conversationId, userId, seq }];
    }
    default:
      return [];
  }
}
