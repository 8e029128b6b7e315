import type { ChannelFamily, ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { ConversationSubscriptions } from "./conversation-subscriptions.js";
import type { ConversationFeed } from "./conversation-feed.js";
import type { ConversationAction, Dialect } from "./dialects.js";
import { refuse } from "../../../platform/phoenix/channel-replies.js";

/** Answers whether a user may see a conversation: a member, in the same workspace. */
export interface MembershipCheck {
  isMember(conversationId: string, userId: string, workspaceId: string): Promise<boolean>;
}

/** Performs a client action on a conversation (messaging, typing); the reply is the outcome. */
export interface ConversationActions {
  handle(
    action: ConversationAction,
    conversationId: string,
    payload: Record<string, unknown>,
    identity: SocketIdentity,
  ): Promise<ChannelReply>;
}

/**
 * `chat:{conversationId}` or `conversation:{conversationId}`, by dialect: members of the
 * conversation (in the caller's workspace) only, checked on the join and again on every push.
 * A refusal does not tell a non-member whether the conversation exists.
 */
export function conversationFamily(
  dialect: Dialect,
  deps: { membership: MembershipCheck; subscriptions: ConversationSubscriptions; actions?: ConversationActions; feed?: ConversationFeed },
): ChannelFamily {
  return {
    prefix: dialect.prefix,
    async join(topic, params, identity, outlet) {
      const conversationId = topic.slice(dialect.prefix.length);
      if (conversationId === "") return refuse("invalid_topic");
      if (!(await deps.membership.isMember(conversationId, identity.userId, identity.workspaceId))) {
        return refuse("unauthorized");
      }
      const opened = await deps.feed?.open(conversationId, params, (delivery, payload) => {
        // Members see each other type; their own indicator is not echoed back to them.
        if (delivery === "typing" && payload.userId === identity.userId) return;
        outlet.push(dialect.deliveries[delivery], payload);
      });
      const unsubscribe = deps.subscriptions.add(conversationId, identity.userId, outlet);
      const unregister = () => {
        unsubscribe();
        opened?.close();
      };
      return {
        status: "ok",
        response: opened?.response ?? {},
        channel: {
          async handleIn(event, payload) {
            const action = dialect.actions[event];
            if (action === undefined) return refuse("unknown_event");
            // Removal closes the channel through a membership delta; this holds even if that delta is lost.
            if (!(await deps.membership.isMember(conversationId, identity.userId, identity.workspaceId))) {
              outlet.close("removed from the conversation");
              return refuse("unauthorized");
            }
            if (deps.actions === undefined) return refuse("not_available");
            return deps.actions.handle(action, conversationId, payload, identity);
          },
          leave: () => Promise.resolve(unregister()),
        },
      };
    },
  };
}
