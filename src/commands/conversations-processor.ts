import { conversationIdOf } from "../domain/conversations/commands.js";
import { conversationDecider } from "../domain/conversations/decide.js";
import type { ConversationState } from "../domain/conversations/state.js";
import type { ProcessorDefinition } from "./processor-definition.js";

/**
 * Membership alone, over the conversations commands only: creation and membership, keyed by
 * conversation id. Accepted commands answer `{conversationId}`. The service runs
 * `conversationProcessor` instead, which decides the same commands together with the messages
 * of the conversation; this single-context definition remains for tests of the runtime and the step.
 */
export const conversationsProcessor: ProcessorDefinition<"conversations", ConversationState> = {
  contexts: ["conversations"],
  decider: conversationDecider,
  aggregateId: conversationIdOf,
  result: (_events, _state, command) => ({ conversationId: command.data.conversationId }),
};
