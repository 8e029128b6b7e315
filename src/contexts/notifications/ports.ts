import { Port } from "../../platform/ports.js";

/** Which members muted a conversation: a muted conversation notifies them of nothing. */
export interface ConversationMutes {
  /** The users among `userIds` who have `conversationId` muted at `at` (epoch milliseconds), as the mute settings last said. */
  mutedAmong(conversationId: string, userIds: readonly string[], at: number): Promise<ReadonlySet<string>>;
}

/** Provided by the context that keeps the mute settings; absent, nobody has muted anything. */
export const CONVERSATION_MUTES = new Port<ConversationMutes>("the conversations users muted");
