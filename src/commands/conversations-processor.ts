import { conversationIdOf } from "../domain/conversations/commands.js";
import { conversationDecider } from "../domain/conversations/decide.js";
import type { ConversationState } from "../domain/conversations/state.js";
import type { ProcessorDefinition } from "./processor-definition.js";

/** The conversations processor: creation and membership, keyed by conversation id. Accepted commands answer `{conversationId}`. */
export const conversationsProcessor: ProcessorDefinition<"conversations", ConversationState> = {
  context: "conversations",
  decider: conversationDecider,
  aggregateId: conversationIdOf,
  result: (_events, _state, command) => ({ conversationId: command.data.conversationId }),
};
