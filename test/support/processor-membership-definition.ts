import { conversationIdOf } from "../../src/domain/conversations/commands.js";
import { conversationDecider } from "../../src/domain/conversations/decide.js";
import type { ConversationState } from "../../src/domain/conversations/state.js";
import type { ProcessorDefinition } from "../../src/commands/processor-definition.js";

/**
 * Membership alone, over the conversations commands only: a single-context definition for
 * tests of the runtime and the step (the service runs `conversationProcessor`, which decides
 * the same commands together with the messages of the conversation). Accepted commands answer
 * `{conversationId}`.
 */
export const conversationsProcessor: ProcessorDefinition<"conversations", ConversationState> = {
  contexts: ["conversations"],
  decider: conversationDecider,
  aggregateId: conversationIdOf,
  result: (_events, _state, command) => ({ conversationId: command.data.conversationId }),
};
