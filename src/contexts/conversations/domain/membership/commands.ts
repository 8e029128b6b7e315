import type { ConversationsCommand } from "../../../../platform/contract/generated/avro-types.js";

/** Commands of a conversation: create it, add a member, remove a member (or leave). */
export type ConversationCommand = ConversationsCommand;

/** The aggregate a command is about; also its Kafka key. */
export function conversationIdOf(command: ConversationCommand): string {
  return command.data.conversationId;
}
