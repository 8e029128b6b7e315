import type {
  MessageDeleted,
  MessageDelivered,
  MessageEdited,
  MessageRead,
  MessageSent,
  ReactionAdded,
  ReactionRemoved,
} from "../../../../platform/contract/generated/avro-types.js";
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

const SENT = "quikchat.messages.MessageSent";
const EDITED = "quikchat.messages.MessageEdited";
const DELETED = "quikchat.messages.MessageDeleted";
const REACTION_ADDED = "quikchat.messages.ReactionAdded";
const REACTION_REMOVED = "quikchat.messages.ReactionRemoved";
const READ = "quikchat.messages.MessageRead";
const DELIVERED = "quikchat.messages.MessageDelivered";

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
  switch (record.fullName) {
    case SENT:
      return [{ kind: "message_sent", version, message: sentMessage(record.value as MessageSent) }];
    case EDITED: {
      const event = record.value as MessageEdited;
      const { conversationId, seq, messageId, content, revision } = event;
      return [{ kind: "message_edited", version, conversationId, seq, messageId, content, revision, editedAt: event.meta.occurredAt }];
    }
    case DELETED: {
      const event = record.value as MessageDeleted;
      return [{ kind: "message_deleted", version, conversationId: event.conversationId, seq: event.seq, deletedAt: event.meta.occurredAt }];
    }
    case REACTION_ADDED:
    case REACTION_REMOVED: {
      const event = record.value as ReactionAdded | ReactionRemoved;
      const kind = record.fullName === REACTION_ADDED ? "reaction_added" : "reaction_removed";
      return [{ kind, version, conversationId: event.conversationId, seq: event.seq, userId: event.userId, emoji: event.emoji }];
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
  switch (record.fullName) {
    case SENT: {
      const message = sentMessage(record.value as MessageSent);
      return [{ kind: "message_new", conversationId: message.conversationId, seq: message.seq, message }];
    }
    case EDITED: {
      const event = record.value as MessageEdited;
      return [
        {
          kind: "message_edited",
          conversationId: event.conversationId,
          seq: event.seq,
          messageId: event.messageId,
          content: event.content,
          revision: event.revision,
          editedAt: event.meta.occurredAt,
          editedBy: event.meta.actorId,
        },
      ];
    }
    case DELETED: {
      const event = record.value as MessageDeleted;
      const { conversationId, seq, messageId } = event;
      return [{ kind: "message_deleted", conversationId, seq, messageId, deletedAt: event.meta.occurredAt, deletedBy: event.meta.actorId }];
    }
    case REACTION_ADDED:
    case REACTION_REMOVED: {
      const event = record.value as ReactionAdded | ReactionRemoved;
      const kind = record.fullName === REACTION_ADDED ? "reaction_added" : "reaction_removed";
      const { conversationId, seq, messageId, userId, emoji } = event;
      return [{ kind, conversationId, seq, messageId, userId, emoji }];
    }
    case READ:
    case DELIVERED: {
      const event = record.value as MessageRead | MessageDelivered;
      const kind = record.fullName === READ ? "read_receipt" : "delivery_receipt";
      return [{ kind, conversationId: event.conversationId, seq: event.seq, userId: event.userId }];
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
