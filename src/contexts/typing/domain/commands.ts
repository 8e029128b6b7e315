import type { TypingCommand as TypingContextCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands about who is typing in one conversation: start (or renew), stop, and the timer's
 * expiry. The aggregate is the conversation; `conversationId` is also the Kafka key.
 */
export type TypingCommand = TypingContextCommand;
