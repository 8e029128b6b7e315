import type { MessageType } from "../../../../platform/contract/generated/avro-types.js";
import {
  evolve as evolveConversation,
  type AbsentConversation,
  type ActiveConversation,
  type ConversationState,
} from "../membership/state.js";
import { own } from "../../../../platform/domain/own-entry.js";
import type { ConversationAggregateEvent, MessageEvent } from "./events.js";

/**
 * What the rules need to know about one message. Kept deliberately small, because the state
 * holds one entry per message ever sent (see {@link MessageHistory}); optional fields are
 * omitted, never `undefined`, so the entry survives a JSON round trip unchanged.
 */
export interface MessageEntry {
  /** Its position in the conversation; events about the message repeat it. */
  readonly seq: number;
  /** Who sent it: the only one who may edit it, and one of those who may delete it. */
  readonly senderId: string;
  /** Omitted for `text`, the common case; captions of media messages may be edited to empty. */
  readonly type?: Exclude<MessageType, "text">;
  /** Revision of the last edit (`MessageEdited.revision`); omitted while never edited. */
  readonly revision?: number;
  /**
   * {@link contentFingerprint} of the current content, so that an edit to the same content is a
   * no-op without keeping up to 10,000 characters per message. Omitted once deleted.
   */
  readonly contentHash?: number;
  /** The message was deleted: a tombstone keeping its seq (and sender, for permission checks). */
  readonly deleted?: true;
  /** Reactions as `userId|emoji` (emoji never contain `|`, so the key is unambiguous); omitted when none. */
  readonly reactions?: readonly string[];
}

/**
 * The messages part of a created conversation.
 *
 * Size: `messages` holds about the {@link RECENT_MESSAGES} most recent messages only (roughly
 * 60–120 bytes of JSON each), in generations of {@link GENERATION} messages, oldest first: a
 * change copies one generation and the list of them, never the whole history, and the oldest
 * generation is forgotten as a whole once there are more than RECENT_MESSAGES / GENERATION.
 * The whole state travels through the changelog as one record per batch, which must stay well
 * under Kafka's record size limit (1 MB). `readSeq` and
 * `deliveredSeq` grow by one entry per user who ever reported a cursor (kept after they leave,
 * so a returning member's cursor stays monotonic).
 * Product rule that follows: edits, deletions, reactions and replies apply to the
 * {@link RECENT_MESSAGES} most recent messages of a conversation; older ones are history only.
 * TODO: keep every message's entry in a per-message state store (one changelog record per
 * message) so that any message can be changed; that needs the runtime to hold more than one
 * record per aggregate.
 */
/** How many of a conversation's latest messages the decider remembers (and lets clients change), at most. */
export const RECENT_MESSAGES = 2_000;
/** Messages per generation of {@link MessageHistory.messages}; the newest RECENT_MESSAGES − GENERATION are always remembered. */
export const GENERATION = 100;

export interface MessageHistory {
  /** The seq of the last message sent; 0 before the first. The next message gets `lastSeq + 1`. */
  readonly lastSeq: number;
  /** Remembered messages by id, in generations of at most {@link GENERATION}, oldest first. */
  readonly messages: readonly Readonly<Record<string, MessageEntry>>[];
  /** Read cursor per user id: every message up to and including it is read. Only moves forward. */
  readonly readSeq: Readonly<Record<string, number>>;
  /** Delivery cursor per user id: every message up to and including it reached a device. Only moves forward. */
  readonly deliveredSeq: Readonly<Record<string, number>>;
}

/** A created conversation: who is in it (as the conversations aggregate folds it) and its messages. */
export type ActiveConversationWithMessages = ActiveConversation & MessageHistory;

/**
 * The state of the conversation aggregate over both contexts. Plain objects and numbers only:
 * it survives the JSON round trip of the changelog.
 */
export type MessagesState = AbsentConversation | ActiveConversationWithMessages;

export function initialState(): MessagesState {
  return { status: "absent" };
}

/** A history with no message and no cursor. */
export function emptyHistory(): MessageHistory {
  return { lastSeq: 0, messages: [], readSeq: {}, deliveredSeq: {} };
}

/** The key of one user's reaction with one emoji in {@link MessageEntry.reactions}. */
export function reactionKey(userId: string, emoji: string): string {
  return `${userId}|${emoji}`;
}

/**
 * A 53-bit fingerprint of a message content (cyrb53), stored instead of the content. Two
 * different contents share a fingerprint with a probability of about 2^-53: the only effect
 * would be an edit taken for a no-op. Changing this function is safe: a stale fingerprint only
 * makes an edit to identical content emit a (harmless) `MessageEdited`.
 */
export function contentFingerprint(content: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < content.length; i++) {
    const code = content.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Folds one event into the state. Membership events go through the conversations aggregate's
 * own `evolve`; message events update the history. Total: an event that does not apply (a
 * message event before the conversation exists, an edit of an unknown or deleted message, a
 * cursor that does not advance, a second `MessageSent` for a known id) returns the state as it
 * is, and nothing throws. Never mutates its input.
 */
export function evolve(state: MessagesState, event: ConversationAggregateEvent): MessagesState {
  switch (event.type) {
    case "ConversationCreated":
    case "MemberAdded":
    case "MemberRemoved":
      return evolveMembership(state, evolveConversation(conversationOf(state), event));
    case "ConversationMuteSet":
      // A member's own setting, kept by a read model: nothing the aggregate decides by.
      return state;
    case "MessageSent":
    case "MessageEdited":
    case "MessageDeleted":
    case "ReactionAdded":
    case "ReactionRemoved":
    case "MessageRead":
    case "MessageDelivered":
      if (state.status !== "active") return state;
      return evolveMessages(state, event);
    default: {
      // Compile-time exhaustiveness without a runtime throw: evolve stays total.
      const _unknown: never = event;
      return state;
    }
  }
}

/** The conversations part of the state, with every key it may ever have (only the history is stripped). */
function conversationOf(state: MessagesState): ConversationState {
  if (state.status !== "active") return state;
  const { lastSeq: _lastSeq, messages: _messages, readSeq: _readSeq, deliveredSeq: _deliveredSeq, ...conversation } = state;
  return conversation;
}

function evolveMembership(state: MessagesState, conversation: ConversationState): MessagesState {
  if (conversation.status !== "active") return state;
  const history: MessageHistory =
    state.status === "active"
      ? { lastSeq: state.lastSeq, messages: state.messages, readSeq: state.readSeq, deliveredSeq: state.deliveredSeq }
      : emptyHistory();
  return { ...conversation, ...history };
}

function evolveMessages(state: ActiveConversationWithMessages, event: MessageEvent): MessagesState {
  switch (event.type) {
    case "MessageSent": {
      const { data } = event;
      if (messageIn(state, data.messageId) !== undefined) return state;
      const entry: MessageEntry = {
        seq: data.seq,
        senderId: data.senderId,
        ...(data.type === "text" ? {} : { type: data.type }),
        contentHash: contentFingerprint(data.content),
      };
      const newest = state.messages.at(-1);
      const messages =
        newest !== undefined && Object.keys(newest).length < GENERATION
          ? [...state.messages.slice(0, -1), { ...newest, [data.messageId]: entry }]
          : [...state.messages, { [data.messageId]: entry }];
      return {
        ...state,
        lastSeq: Math.max(state.lastSeq, data.seq),
        messages: messages.length > RECENT_MESSAGES / GENERATION ? messages.slice(1) : messages,
      };
    }
    case "MessageEdited": {
      const entry = messageIn(state, event.data.messageId);
      if (entry === undefined || entry.deleted === true) return state;
      return withMessage(state, event.data.messageId, {
        ...entry,
        revision: Math.max(entry.revision ?? 0, event.data.revision),
        contentHash: contentFingerprint(event.data.content),
      });
    }
    case "MessageDeleted": {
      const entry = messageIn(state, event.data.messageId);
      if (entry === undefined || entry.deleted === true) return state;
      const tombstone: MessageEntry = {
        seq: entry.seq,
        senderId: entry.senderId,
        ...(entry.type === undefined ? {} : { type: entry.type }),
        deleted: true,
      };
      return withMessage(state, event.data.messageId, tombstone);
    }
    case "ReactionAdded": {
      const entry = messageIn(state, event.data.messageId);
      const key = reactionKey(event.data.userId, event.data.emoji);
      if (entry === undefined || entry.deleted === true || entry.reactions?.includes(key) === true) return state;
      return withMessage(state, event.data.messageId, { ...entry, reactions: [...(entry.reactions ?? []), key] });
    }
    case "ReactionRemoved": {
      const entry = messageIn(state, event.data.messageId);
      const key = reactionKey(event.data.userId, event.data.emoji);
      if (entry?.reactions?.includes(key) !== true) return state;
      const { reactions: _reactions, ...rest } = entry;
      const reactions = entry.reactions.filter((existing) => existing !== key);
      return withMessage(state, event.data.messageId, reactions.length === 0 ? rest : { ...rest, reactions });
    }
    case "MessageRead": {
      const { userId, seq } = event.data;
      if (seq <= (own(state.readSeq, userId) ?? 0)) return state;
      return { ...state, readSeq: { ...state.readSeq, [userId]: seq } };
    }
    case "MessageDelivered": {
      const { userId, seq } = event.data;
      if (seq <= (own(state.deliveredSeq, userId) ?? 0)) return state;
      return { ...state, deliveredSeq: { ...state.deliveredSeq, [userId]: seq } };
    }
    default: {
      const _unknown: never = event;
      return state;
    }
  }
}

/** The remembered entry of `messageId`, newest generations first (that is where most changes land). */
export function messageIn(history: MessageHistory, messageId: string): MessageEntry | undefined {
  for (let index = history.messages.length - 1; index >= 0; index -= 1) {
    const entry = own(history.messages[index]!, messageId);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** True when older messages than the remembered ones exist. */
export function forgotOlderMessages(history: MessageHistory): boolean {
  const oldest = history.messages[0];
  const first = oldest === undefined ? undefined : Object.values(oldest)[0];
  return first !== undefined && first.seq > 1;
}

function withMessage(state: ActiveConversationWithMessages, messageId: string, entry: MessageEntry): MessagesState {
  const index = state.messages.findIndex((generation) => Object.hasOwn(generation, messageId));
  if (index < 0) return state;
  const messages = [...state.messages];
  messages[index] = { ...messages[index], [messageId]: entry };
  return { ...state, messages };
}
