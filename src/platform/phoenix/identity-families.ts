import type { ChannelFamily, ChannelOutlet, ChannelReply, JoinedChannel, SocketIdentity } from "./channel.js";
import { listenOnly, refuse } from "./channel-replies.js";

/** What a joined channel does once its join is authorized; absent, the channel only listens. */
export type OpenChannel = (identity: SocketIdentity, outlet: ChannelOutlet) => Promise<JoinedChannel>;

/** A family whose only joinable topic is `prefix` followed by the caller's own id of some kind. */
export function ownTopicFamily(prefix: string, ownId: (identity: SocketIdentity) => string, open?: OpenChannel): ChannelFamily {
  return {
    prefix,
    async join(topic, _params, identity, outlet) {
      if (topic.slice(prefix.length) !== ownId(identity)) return refuse("unauthorized");
      return { status: "ok", response: {}, channel: open === undefined ? listenOnly() : await open(identity, outlet) };
    },
  };
}

/** What a context adds to a user's own channel while it is joined. */
export interface UserChannelPart {
  /** Client events it handles on `user:{userId}`, by name. */
  readonly events?: Readonly<Record<string, (payload: Record<string, unknown>) => Promise<ChannelReply>>>;
  /** Stops what it pushes; called once when the channel ends. */
  leave(): void;
}

/**
 * Sets up what a context pushes to `user:{userId}` (presence of the user's devices, incoming
 * calls, notifications) on a join; rejects to refuse the join.
 */
export type OpenUserChannelPart = (identity: SocketIdentity, outlet: ChannelOutlet) => Promise<UserChannelPart>;

/**
 * `user:{userId}`: the user's own channel, joinable by that user only. Every context that pushes
 * to users adds a part; the channel opens them in order (a part that fails closes those opened
 * before it and fails the join) and hands each client event to the part that handles it.
 */
export function userFamily(parts: readonly OpenUserChannelPart[]): ChannelFamily {
  return ownTopicFamily("user:", (identity) => identity.userId, async (identity, outlet) => {
    const opened: UserChannelPart[] = [];
    try {
      for (const open of parts) opened.push(await open(identity, outlet));
    } catch (error) {
      for (const part of opened) part.leave();
      throw error;
    }
    return {
      handleIn(event, payload) {
        const handler = opened.find((part) => part.events !== undefined && Object.hasOwn(part.events, event))?.events?.[event];
        return handler === undefined ? Promise.resolve(refuse("unknown_event")) : handler(payload);
      },
      leave: () => Promise.resolve(opened.forEach((part) => part.leave())),
    };
  });
}
