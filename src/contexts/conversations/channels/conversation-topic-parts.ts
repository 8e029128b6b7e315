import type { ChannelOutlet, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { Dialect } from "./dialects.js";

/** A client event another context handles on a conversation topic: the `ok` response, or a thrown `ServiceError`. */
export type ConversationTopicHandler = (payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** What another context adds to one joined conversation topic. */
export interface ConversationTopicPart {
  /** Client events it handles on the topic, by name (the same in both dialects unless the part says otherwise). */
  readonly events?: Readonly<Record<string, ConversationTopicHandler>>;
  /** Stops what it pushes; called once when the channel ends. */
  leave(): void;
}

/** The conversation topic a part opens on: its dialect and its conversation. */
export interface ConversationTopic {
  readonly dialect: Dialect["prefix"];
  readonly conversationId: string;
}

/**
 * Sets up what a context pushes to (and handles on) a conversation topic once a member has joined
 * it (the huddles' `huddle:create` and live indicator); rejects to refuse the join.
 */
export type OpenConversationTopicPart = (topic: ConversationTopic, identity: SocketIdentity, outlet: ChannelOutlet) => Promise<ConversationTopicPart>;

/** The parts of one joined topic, opened. */
export interface OpenedTopicParts {
  /** The handler of a client event one of the parts handles, if any. */
  handler(event: string): ConversationTopicHandler | undefined;
  leave(): void;
}

/**
 * What other contexts add to `chat:{id}` and `conversation:{id}` on this gateway: each adds its
 * part while the gateway starts; the conversation family opens them all, in order, on every join.
 */
export class ConversationTopicParts {
  private readonly parts: OpenConversationTopicPart[] = [];

  add(part: OpenConversationTopicPart): void {
    this.parts.push(part);
  }

  /** Opens every part on a joined topic; a part that fails closes those opened before it, and the join fails. */
  async open(topic: ConversationTopic, identity: SocketIdentity, outlet: ChannelOutlet): Promise<OpenedTopicParts> {
    const opened: ConversationTopicPart[] = [];
    const leave = () => opened.forEach((part) => part.leave());
    try {
      for (const open of this.parts) opened.push(await open(topic, identity, outlet));
    } catch (error) {
      leave();
      throw error;
    }
    return {
      handler: (event) => opened.find((part) => part.events !== undefined && Object.hasOwn(part.events, event))?.events?.[event],
      leave,
    };
  }
}
