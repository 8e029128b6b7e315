import type { ConversationsCommand, MessagesCommand } from "../../../../platform/contract/generated/avro-types.js";

/** Commands about the messages of a conversation: send, edit, delete, react, read and delivery receipts. */
export type MessageCommand = MessagesCommand;

/**
 * Every command the conversation aggregate decides. Messages and membership share one
 * consistency boundary, the conversation: `quikapp.conversations.commands` and
 * `quikapp.messages.commands` are co-partitioned by conversationId and feed one aggregate, so
 * "only members may send" is checked against the membership as of the very same log position.
 */
export type ConversationAggregateCommand = ConversationsCommand | MessagesCommand;

/** The aggregate a command is about; also its Kafka key on both command topics. */
export function conversationIdOf(command: ConversationAggregateCommand): string {
  return command.data.conversationId;
}
