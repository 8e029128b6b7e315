import { conversationIdOf } from "../../src/contexts/conversations/domain/membership/commands.js";
import { conversationDecider } from "../../src/contexts/conversations/domain/membership/decide.js";
import type { ConversationState } from "../../src/contexts/conversations/domain/membership/state.js";
import type { ProcessorDefinition } from "../../src/platform/processor/processor-definition.js";

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
