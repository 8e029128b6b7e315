import type { ChannelOutlet, SocketIdentity } from "../../platform/phoenix/channel.js";
import { Port } from "../../platform/ports.js";

/**
 * The viewers of a topic (`comments:{videoId}`) as a joined channel sees them, in
 * Phoenix.Presence format. `view` makes the socket one of the topic's viewers (through the log:
 * a `JoinTopic` of its presence connection), pushes the topic's `presence_state` to the outlet,
 * then each `presence_diff`, until the returned function is called, which makes it leave
 * (`LeaveTopic`; a socket that closes leaves by itself). Rejects with a ServiceError:
 * `invalid_topic` (empty, over 200 characters), `too_many_topics` (the socket views 100 already).
 */
export interface TopicViewers {
  view(identity: SocketIdentity, topic: string, outlet: ChannelOutlet): Promise<() => void>;
}

/** Provided by the presence context; absent, `comments:` topics are served without their viewers' presence. */
export const TOPIC_VIEWERS = new Port<TopicViewers>("the viewers of topics, from the presence context");
