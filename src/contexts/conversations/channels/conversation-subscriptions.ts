import type { Logger } from "../../../infra/log/logger.js";
import { membershipChannel, type MembershipDelta } from "../projections/membership/membership-projection.js";
import type { ChannelOutlet } from "../../../platform/phoenix/channel.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";

/**
 * The conversation channels joined on this gateway, by conversation and user, so that a
 * membership removal can close exactly the channels of the removed user.
 */
export class ConversationSubscriptions {
  private readonly joined = new Map<string, Map<string, Set<ChannelOutlet>>>();

  /** Registers a joined channel; the returned function unregisters it. */
  add(conversationId: string, userId: string, outlet: ChannelOutlet): () => void {
    const users = this.joined.get(conversationId) ?? new Map<string, Set<ChannelOutlet>>();
    this.joined.set(conversationId, users);
    const outlets = users.get(userId) ?? new Set<ChannelOutlet>();
    users.set(userId, outlets);
    outlets.add(outlet);
    return () => {
      outlets.delete(outlet);
      if (outlets.size === 0) users.delete(userId);
      if (users.size === 0) this.joined.delete(conversationId);
    };
  }

  /** Closes every channel `userId` has joined on `conversationId` here. */
  eject(conversationId: string, userId: string, reason: string): number {
    const outlets = [...(this.joined.get(conversationId)?.get(userId) ?? [])];
    for (const outlet of outlets) outlet.close(reason);
    return outlets.length;
  }

  /** Conversations with at least one joined channel on this gateway. */
  conversations(): string[] {
    return [...this.joined.keys()];
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
