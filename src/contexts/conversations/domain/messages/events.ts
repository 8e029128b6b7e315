import type { ConversationsEvent, MessagesEvent } from "../../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../../platform/domain/decider.js";

/** Facts about the messages of a conversation: sent, edited, deleted, reactions, read and delivery receipts. */
export type MessageEvent = MessagesEvent;

/** Every event the conversation aggregate folds: membership facts and message facts. */
export type ConversationAggregateEvent = ConversationsEvent | MessagesEvent;

/** A messages event as `decide` returns it (the runtime fills `meta`). */
export type DecidedMessageEvent = DecidedEvent<MessageEvent>;

/** Any event of the conversation aggregate as `decide` returns it. */
export type DecidedConversationAggregateEvent = DecidedEvent<ConversationAggregateEvent>;
