import type { Logger } from "../../../infra/log/logger.js";
import { membershipChannel, type MembershipDelta } from "../projections/membership/membership-projection.js";
import type { ChannelOutlet } from "../../../platform/phoenix/channel.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";

/**
 * The conversation channels joined on this gateway, by conversation and user, so that a
 * membership removal can close exactly the channels of the removed user; and by socket, so that
 * what a socket already receives on a conversation's topic is not pushed to it again elsewhere.
 */
export class ConversationSubscriptions {
  private readonly byConversation = new Map<string, Map<string, Set<ChannelOutlet>>>();
  /** connection id → conversation id → channels of that socket joined to it (one per dialect at most). */
  private readonly bySocket = new Map<string, Map<string, number>>();

  /** Registers a joined channel of a socket; the returned function unregisters it. */
  add(conversationId: string, socket: { readonly userId: string; readonly connectionId: string }, outlet: ChannelOutlet): () => void {
    const { userId, connectionId } = socket;
    const users = this.byConversation.get(conversationId) ?? new Map<string, Set<ChannelOutlet>>();
    this.byConversation.set(conversationId, users);
    const outlets = users.get(userId) ?? new Set<ChannelOutlet>();
    users.set(userId, outlets);
    outlets.add(outlet);
    const joinedBySocket = this.bySocket.get(connectionId) ?? new Map<string, number>();
    this.bySocket.set(connectionId, joinedBySocket);
    joinedBySocket.set(conversationId, (joinedBySocket.get(conversationId) ?? 0) + 1);
    return () => {
      outlets.delete(outlet);
      if (outlets.size === 0) users.delete(userId);
      if (users.size === 0) this.byConversation.delete(conversationId);
      const left = (joinedBySocket.get(conversationId) ?? 1) - 1;
      if (left > 0) joinedBySocket.set(conversationId, left);
      else joinedBySocket.delete(conversationId);
      if (joinedBySocket.size === 0) this.bySocket.delete(connectionId);
    };
  }

  /** Whether the socket `connectionId` has joined `conversationId` here (in either dialect). */
  joined(connectionId: string, conversationId: string): boolean {
    return this.bySocket.get(connectionId)?.has(conversationId) === true;
  }

  /** Closes every channel `userId` has joined on `conversationId` here. */
  eject(conversationId: string, userId: string, reason: string): number {
    const outlets = [...(this.byConversation.get(conversationId)?.get(userId) ?? [])];
    for (const outlet of outlets) outlet.close(reason);
    return outlets.length;
  }

  /** Conversations with at least one joined channel on this gateway. */
  conversations(): string[] {
    return [...this.byConversation.keys()];
  }
}

/**
 * Follows membership deltas and ejects removed members' live channels. Resolves once
 * subscribed, with the function that stops following. A removal missed while Redis was away
 * is still enforced: every push checks membership again.
 */
export function watchMembership(
  hub: ChannelSource,
  topicPrefix: string,
  subscriptions: ConversationSubscriptions,
  logger: Logger,
): Promise<() => void> {
  const channel = membershipChannel(topicPrefix);
  return hub.listen(channel, {
    onMessage: (message) => {
      const delta = parseMessage<MembershipDelta>(message, channel, logger);
      if (delta?.change === "removed") subscriptions.eject(delta.conversationId, delta.userId, "removed from the conversation");
    },
    onResync: () => undefined,
  });
}
