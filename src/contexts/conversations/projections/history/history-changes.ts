import type { MessageSent } from "../../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import type { ConversationDelta, HistoryMessage } from "./history-port.js";

/** The name history checkpoints are stored under. */
export const HISTORY_PROJECTION = "history";

/**
 * One change to history, derived from one event. `version` is the offset of that event: all
 * events of a conversation share one partition (keyed by conversation id), so versions grow
 * along each message's life and a store can refuse any change not newer than what it holds.
 */
export type HistoryChange =
  | { readonly kind: "message_sent"; readonly version: number; readonly message: HistoryMessage }
  | {
      readonly kind: "message_edited";
      readonly version: number;
      readonly conversationId: string;
      readonly seq: number;
      readonly messageId: string;
      readonly content: string;
      readonly revision: number;
      readonly editedAt: number;
    }
  | { readonly kind: "message_deleted"; readonly version: number; readonly conversationId: string; readonly seq: number; readonly deletedAt: number }
  | {
      readonly kind: "reaction_added" | "reaction_removed";
      readonly version: number;
      readonly conversationId: string;
      readonly seq: number;
      readonly userId: string;
      readonly emoji: string;
    };

type HistoryRecord = Pick<ConsumedRecord, "fullName" | "value" | "offset">;

/** A message as `MessageSent` creates it: never edited, not deleted, no reactions. */
export function sentMessage(event: MessageSent): HistoryMessage {
  return {
    id: event.messageId,
    conversationId: event.conversationId,
    seq: event.seq,
    senderId: event.senderId,
    type: event.type,
    content: event.content,
    attachments: event.attachments,
    clientMsgId: event.clientMsgId,
    replyToMessageId: event.replyToMessageId,
    sentAt: event.meta.occurredAt,
    editedAt: null,
    revision: 0,
    deletedAt: null,
    reactions: {},
  };
}

/**
 * The change to history one record stands for (pure); none for receipts and for events of other
 * types. Whether the change takes effect depends on the stored message: see {@link evolveMessage}.
 */
export function historyChanges(record: HistoryRecord): HistoryChange[] {
  const version = record.offset;
  const event = eventOf(record, "messages");
  switch (event?.type) {
    case "MessageSent":
      return [{ kind: "message_sent", version, message: sentMessage(event.data) }];
    case "MessageEdited": {
      const { conversationId, seq, messageId, content, revision, meta } = event.data;
      return [{ kind: "message_edited", version, conversationId, seq, messageId, content, revision, editedAt: meta.occurredAt }];
    }
    case "MessageDeleted": {
      const { conversationId, seq, meta } = event.data;
      return [{ kind: "message_deleted", version, conversationId, seq, deletedAt: meta.occurredAt }];
    }
    case "ReactionAdded":
    case "ReactionRemoved": {
      const kind = event.type === "ReactionAdded" ? "reaction_added" : "reaction_removed";
      const { conversationId, seq, userId, emoji } = event.data;
      return [{ kind, version, conversationId, seq, userId, emoji }];
    }
    default:
      return [];
  }
}

/**
 * What gateways are told about one record (pure), in the record's order. Receipts change nothing
 * in history but still produce a delta. An edit is announced even when the store drops it as
 * stale: clients drop an edit whose revision is not newer than theirs, as the store does.
 */
export function historyDeltas(record: HistoryRecord): ConversationDelta[] {
  const event = eventOf(record, "messages");
  switch (event?.type) {
    case "MessageSent": {
      const message = sentMessage(event.data);
      return [{ kind: "message_new", conversationId: message.conversationId, seq: message.seq, message }];
    }
    case "MessageEdited": {
      const { conversationId, seq, messageId, content, revision, meta } = event.data;
      return [{ kind: "message_edited", conversationId, seq, messageId, content, revision, editedAt: meta.occurredAt, editedBy: meta.actorId }];
    }
    case "MessageDeleted": {
      const { conversationId, seq, messageId, meta } = event.data;
      return [{ kind: "message_deleted", conversationId, seq, messageId, deletedAt: meta.occurredAt, deletedBy: meta.actorId }];
    }
    case "ReactionAdded":
    case "ReactionRemoved": {
      const kind = event.type === "ReactionAdded" ? "reaction_added" : "reaction_removed";
      const { conversationId, seq, messageId, userId, emoji } = event.data;
      return [{ kind, conversationId, seq, messageId, userId, emoji }];
    }
    case "MessageRead":
    case "MessageDelivered": {
      const kind = event.type === "MessageRead" ? "read_receipt" : "delivery_receipt";
      const { conversationId, seq, userId } = event.data;
      return [{ kind, conversationId, seq, userId }];
    }
    default:
      return [];
  }
}

/**
 * The rules every store follows, as a pure function over one message (`undefined` = not stored):
 * - a send creates the message; a second send of the same seq changes nothing;
 * - an edit replaces the content only when its revision is newer than the stored one and the
 *   message is not deleted;
 * - a delete makes the message a tombstone: content, attachments and reactions are gone, and
 *   later edits and reactions are dropped;
 * - a reaction adds the user to the emoji's list (at the end, once) or removes them (an emoji
 *   with nobody left disappears).
 * A change to a message that is not stored is dropped: events of one conversation arrive in
 * order, so that happens only for history older than the log.
 */
export function evolveMessage(message: HistoryMessage | undefined, change: HistoryChange): HistoryMessage | undefined {
  if (change.kind === "message_sent") return message ?? change.message;
  if (message === undefined || message.deletedAt !== null) return message;
  switch (change.kind) {
    case "message_edited":
      return change.revision > message.revision ? { ...message, content: change.content, revision: change.revision, editedAt: change.editedAt } : message;
    case "message_deleted":
      return { ...message, content: "", attachments: [], reactions: {}, deletedAt: change.deletedAt };
    case "reaction_added":
    case "reaction_removed": {
      const users = message.reactions[change.emoji] ?? [];
      const next = change.kind === "reaction_added" ? (users.includes(change.userId) ? users : [...users, change.userId]) : users.filter((user) => user !== change.userId);
      const reactions: Record<string, readonly string[]> = { ...message.reactions, [change.emoji]: next };
      if (next.length === 0) delete reactions[change.emoji];
      return { ...message, reactions };
    }
    default: {
      const unknown: never = change;
      return unknown;
    }
  }
}

/** Emoji → users, from (emoji, user) pairs in the order they reacted. */
export function groupReactions(pairs: Iterable<{ readonly emoji: string; readonly userId: string }>): Record<string, string[]> {
  const reactions: Record<string, string[]> = {};
  for (const { emoji, userId } of pairs) {
    const users = (reactions[emoji] ??= []);
    if (!users.includes(userId)) users.push(userId);
  }
  return reactions;
}
