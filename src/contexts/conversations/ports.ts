import { Port } from "../../platform/ports.js";
import type { MembershipCheck } from "./channels/conversation-family.js";
import type { TypingActions } from "./channels/conversation-actions.js";
import type { ConversationTopicParts } from "./channels/conversation-topic-parts.js";

/** Who belongs to which conversation, as a gateway checks it on every join and push: provided by this context. */
export const MEMBERSHIP = new Port<MembershipCheck>("the membership check of conversations");

/** What typing pushes on conversation topics do: provided by the typing context; absent, they are answered `not_available`. */
export const CONVERSATION_TYPING = new Port<TypingActions>("typing on conversation topics");

/** Where other contexts add their parts of the conversation topics (huddles): provided by this context's gateway. */
export const CONVERSATION_TOPIC_PARTS = new Port<ConversationTopicParts>("the parts other contexts add to conversation topics");
