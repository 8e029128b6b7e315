import { Port } from "../../platform/ports.js";
import type { ConversationViewers, MembershipCheck } from "./channels/conversation-family.js";
import type { ConversationSubscriptions } from "./channels/conversation-subscriptions.js";
import type { TypingActions } from "./channels/conversation-actions.js";

/** Who belongs to which conversation, as a gateway checks it on every join and push: provided by this context. */
export const MEMBERSHIP = new Port<MembershipCheck>("the membership check of conversations");

/** What typing pushes on conversation topics do: provided by the typing context; absent, they are answered `not_available`. */
export const CONVERSATION_TYPING = new Port<TypingActions>("typing on conversation topics");

/** Whether a socket of this gateway has joined a conversation's topic: provided by this context. */
export const JOINED_CONVERSATIONS = new Port<Pick<ConversationSubscriptions, "joined">>("the conversations each socket of this gateway joined");

/** Sockets viewing conversation topics, in the presence read model: provided by the presence context; absent, nothing is recorded. */
export const CONVERSATION_VIEWERS = new Port<ConversationViewers>("the viewers of conversation topics, from the presence context");
