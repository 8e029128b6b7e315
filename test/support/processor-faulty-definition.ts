import { conversationsProcessor } from "./processor-membership-definition.js";
import type { ProcessorDefinition } from "../../src/platform/processor/processor-definition.js";
import { conversationDecider } from "../../src/contexts/conversations/domain/membership/decide.js";
import type { ConversationState } from "../../src/contexts/conversations/domain/membership/state.js";

/** Creating a conversation with this title makes the decider throw a `TypeError` (a bug). */
export const THROWING_TITLE = "test: decider throws";
/** Creating a conversation with this title makes the decider return an event its schema refuses. */
export const INVALID_EVENT_TITLE = "test: invalid event";

/** The real conversations processor, with two faults that tests trigger on purpose. */
export const faultyConversationsProcessor: ProcessorDefinition<"conversations", ConversationState> = {
  ...conversationsProcessor,
  decider: {
    ...conversationDecider,
    decide(command, state) {
      if (command.type === "CreateConversation" && command.data.title === THROWING_TITLE) throw new TypeError("a bug in the decider");
      const events = conversationDecider.decide(command, state);
      if (command.type !== "CreateConversation" || command.data.title !== INVALID_EVENT_TITLE) return events;
      return events.map((event) =>
        event.type === "ConversationCreated"
          ? { ...event, data: { ...event.data, members: [{ userId: "u1", role: "superuser" as "owner" }] } }
          : event,
      );
    },
  },
};
