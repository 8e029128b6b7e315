import type { ChannelFamily, ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { ConversationSubscriptions } from "./conversation-subscriptions.js";
import type { ConversationFeed } from "./conversation-feed.js";
import type { ConversationAction, Dialect } from "./dialects.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import type { ConversationTopicParts } from "./conversation-topic-parts.js";

/** Answers whether a user may see a conversation: a member, in the same workspace. */
export interface MembershipCheck {
  isMember(conversationId: string, userId: string, workspaceId: string): Promise<boolean>;
}

/**
 * Makes a socket known, across gateways, to view a conversation's topic (the presence read model:
 * the notification policy notifies nobody of what a socket of theirs shows already); returns the
 * function that ends it (a socket that closes ends it by itself). Never throws: a socket it cannot
 * count is only notified as if it were not there.
 */
export interface ConversationViewers {
  view(identity: SocketIdentity, topic: string): () => void;
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
 * The actions whose commands the conversation's own processor refuses to a non-member
 * (`not_a_member`): the gateway does not ask the read model again before sending them.
 */
const DECIDED_FOR_MEMBERS_ONLY: ReadonlySet<ConversationAction> = new Set(["send", "edit", "delete", "react", "unreact", "read"]);

/**
 * `chat:{conversationId}` or `conversation:{conversationId}`, by dialect: members of the
 * conversation (in the caller's workspace) only, checked on the join and again on every push:
 * by the read model, or, for the actions in {@link DECIDED_FOR_MEMBERS_ONLY}, by the processor
 * that decides them (from the aggregate itself, so even a removal the read model has not seen
 * yet is refused). Either refusal closes the channel. A refusal does not tell a non-member
 * whether the conversation exists. Other contexts' `parts` (huddles) push on the topic and
 * handle the client events the dialect does not name, for members, checked the same way.
 */
export function conversationFamily(
  dialect: Dialect,
  deps: {
    membership: MembershipCheck;
    subscriptions: ConversationSubscriptions;
    actions?: ConversationActions;
    feed?: ConversationFeed;
    parts?: ConversationTopicParts;
    /** Where a joined socket is known to view the conversation (presence), read on each join. */
    viewers?: () => ConversationViewers | undefined;
  },
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
      let parts;
      try {
        parts = await deps.parts?.open({ dialect: dialect.prefix, conversationId }, identity, outlet);
      } catch (error) {
        opened?.close();
        throw error;
      }
      const unsubscribe = deps.subscriptions.add(conversationId, identity, outlet);
      const stopViewing = deps.viewers?.()?.view(identity, topic);
      const removed = (): ChannelReply => {
        outlet.close("removed from the conversation");
        return refuse("unauthorized");
      };
      const unregister = () => {
        unsubscribe();
        stopViewing?.();
        opened?.close();
        parts?.leave();
      };
      return {
        status: "ok",
        response: opened?.response ?? {},
        channel: {
          async handleIn(event, payload) {
            const action = Object.hasOwn(dialect.actions, event) ? dialect.actions[event] : undefined;
            if (action === undefined) {
              const handler = parts?.handler(event);
              if (handler === undefined) return refuse("unknown_event");
              if (!(await deps.membership.isMember(conversationId, identity.userId, identity.workspaceId))) return removed();
              return replying(() => handler(payload));
            }
            // Removal closes the channel through a membership delta; this holds even if that delta is lost.
            const decidedForMembers = DECIDED_FOR_MEMBERS_ONLY.has(action);
            if (!decidedForMembers && !(await deps.membership.isMember(conversationId, identity.userId, identity.workspaceId))) {
              return removed();
            }
            if (deps.actions === undefined) return refuse("not_available");
            const reply = await deps.actions.handle(action, conversationId, payload, identity);
            return decidedForMembers && reply.status === "error" && reply.response.reason === "not_a_member" ? removed() : reply;
          },
          leave: () => Promise.resolve(unregister()),
        },
      };
    },
  };
}
