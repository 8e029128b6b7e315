import type { ConversationsEvent } from "../../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../../platform/domain/decider.js";

/** Facts about a conversation: created, member added, member removed. */
export type ConversationEvent = ConversationsEvent;

/** A conversation event as `decide` returns it (the runtime fills `meta`). */
export type DecidedConversationEvent = DecidedEvent<ConversationEvent>;
