import type { ConversationsEvent, MessagesEvent } from "../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../platform/domain/decider.js";
import { conversationIdOf, type ConversationAggregateCommand } from "./domain/messages/commands.js";
import { messagesDecider } from "./domain/messages/decide.js";
import { messageIn, type MessagesState } from "./domain/messages/state.js";
import type { ProcessorDefinition } from "../../platform/processor/processor-definition.js";

/**
 * The conversation processor: one aggregate per conversation over the conversations commands
 * (creation, membership) and the messages commands (send, edit, delete, react, receipts), so that
 * seqs are assigned against the membership as of the same log position. The conversations
 * context owns the changelog (`quikapp.conversations.state`) and the consumer group.
 *
 * Accepted commands answer:
 * - create: `{conversationId, created}`, `created` false when the conversation already was (a
 *   direct conversation created again for the same pair);
 * - other membership commands: `{conversationId}`;
 * - mute: `{conversationId, muted, mutedUntil}`;
 * - send: `{id, seq, sentAt}` (`sentAt`: the event's `occurredAt`, i.e. the command's `issuedAt`).
 *   A message id that was already sent by another command is a no-op answered `{id, seq}`: the
 *   aggregate does not keep the original `sentAt` (a retry with the same commandId gets the full
 *   first answer from the dedupe window);
 * - edit: `{id, seq, revision}` (the current revision when the content did not change);
 * - delete and reactions: `{id, seq}`;
 * - read and delivery receipts: `{}`.
 */
export const conversationProcessor: ProcessorDefinition<"conversations" | "messages", MessagesState> = {
  contexts: ["conversations", "messages"],
  decider: messagesDecider,
  aggregateId: conversationIdOf,
  result: resultOf,
  // Full generations of remembered messages are shared unchanged by later states: each is written
  // to the changelog once (again only when an edit or reaction changes it), not with every batch.
  // The newest generation, which every message changes, stays in the aggregate's record.
  snapshotParts: (state) => (state.status === "active" ? state.messages.slice(0, -1) : []),
};

function resultOf(events: readonly (ConversationsEvent | MessagesEvent)[], state: MessagesState, command: ConversationAggregateCommand): Record<string, unknown> {
  switch (command.type) {
    case "CreateConversation":
      return { conversationId: command.data.conversationId, created: events.length > 0 };
    case "AddMember":
    case "RemoveMember":
      return { conversationId: command.data.conversationId };
    case "SetConversationMute": {
      const { conversationId, muted, mutedUntil } = command.data;
      return { conversationId, muted, mutedUntil: muted ? mutedUntil : null };
    }
    case "SendMessage": {
      const id = command.data.messageId;
      const sent = events.find((event) => event.type === "MessageSent");
      if (sent !== undefined) return { id, seq: sent.data.seq, sentAt: sent.data.meta.occurredAt };
      return { id, ...seqOf(state, id) };
    }
    case "EditMessage": {
      const id = command.data.messageId;
      const edited = events.find((event) => event.type === "MessageEdited");
      if (edited !== undefined) return { id, seq: edited.data.seq, revision: edited.data.revision };
      const entry = entryOf(state, id);
      return entry === undefined ? { id } : { id, seq: entry.seq, revision: entry.revision ?? 0 };
    }
    case "DeleteMessage":
    case "AddReaction":
    case "RemoveReaction":
      return { id: command.data.messageId, ...seqOf(state, command.data.messageId) };
    case "MarkRead":
    case "MarkDelivered":
      return {};
    default:
      return unreachable(command);
  }
}

function entryOf(state: MessagesState, messageId: string) {
  return state.status === "active" ? messageIn(state, messageId) : undefined;
}

function seqOf(state: MessagesState, messageId: string): { seq?: number } {
  const entry = entryOf(state, messageId);
  return entry === undefined ? {} : { seq: entry.seq };
}
