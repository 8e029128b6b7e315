/**
 * The typing read model in Redis: `<p>typing:<conversationId>` sorted set, userId scored by the
 * epoch milliseconds at which the indicator expires (`<p>` = topic prefix). A member is typing
 * while its score is in the future; the projection removes members when they stop or expire,
 * and readers ignore scores in the past. `<p>typing:checkpoint` hash holds the projection's
 * checkpoint (`<topic>:<partition>` → next offset), written in the same MULTI/EXEC.
 *
 * Typing reaches sockets as a `typing` {@link ConversationDelta} on the conversation's channel.
 */
export const typingKeys = (prefix: string) => ({
  checkpoint: `${prefix}typing:checkpoint`,
  conversation: (conversationId: string) => `${prefix}typing:${conversationId}`,
});
