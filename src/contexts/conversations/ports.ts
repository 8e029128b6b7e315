import { Port } from "../../platform/ports.js";
import type { ConversationViewers, MembershipCheck } from "./channels/conversation-family.js";
import type { ConversationSubscriptions } from "./channels/conversation-subscriptions.js";
import type { TypingActions } from "./channels/conversation-actions.js";
import type { ConversationTopicParts } from "./channels/conversation-topic-parts.js";

/** Who belongs to which conversation, as a gateway checks it on every join and push: provided by this context. */
export const MEMBERSHIP = new Port<MembershipCheck>("the membership check of conversations");

/** What typing pushes on conversation topics do: provided by the typing context; absent, they are answered `not_available`. */
export const CONVERSATION_TYPING = new Port<TypingActions>("typing on conversation topics");

/** Where other contexts add their parts of the conversation topics (huddles): provided by this context's gateway. */
export const CONVERSATION_TOPIC_PARTS = new Port<ConversationTopicParts>("the parts other contexts add to conversation topics");

/** Whether a socket of this gateway has joined a conversation's topic: provided by this context. */
export const JOINED_CONVERSATIONS = new Port<Pick<ConversationSubscriptions, "joined">>("the conversations each socket of this gateway joined");

/** Sockets viewing conversation topics, in the presence read model: provided by the presence context; absent, nothing is recorded. */
export const CONVERSATION_VIEWERS = new Port<ConversationViewers>("the viewers of conversation topics, from the presence context");

/** A member's notification setting for one conversation. */
export interface MuteSetting {
  readonly muted: boolean;
  /** Epoch milliseconds when the mute ends by itself; null: until unmuted (and when not muted). */
  readonly until: number | null;
}

/**
 * Who muted which conversation, as the notifier asks it ("members of X not muted") and the REST
 * API shows it: the `mutes` read model (MySQL), filled from `quikapp.conversations.events`.
 *
 * - Eventually consistent: a mute counts once projected (usually within milliseconds).
 * - `at` is the instant asked about (epoch milliseconds): a mute whose `until` is at or before
 *   it reads as not muted.
 * - `muteOf` answers any pair, `{muted: false, until: null}` when the user never muted the
 *   conversation, unmuted it, or is not (or no longer) a member: leaving drops the setting.
 * - `mutedAmong` answers the users of `userIds` who have the conversation muted at `at`.
 * - Reads only; rejects when MySQL cannot be reached.
 */
export interface ConversationMutes {
  muteOf(conversationId: string, userId: string, at: number): Promise<MuteSetting>;
  mutedAmong(conversationId: string, userIds: readonly string[], at: number): Promise<Set<string>>;
}

/** Members' mutes of conversations: provided by this context. */
export const CONVERSATION_MUTES = new Port<ConversationMutes>("who muted which conversation");
