import type { PresenceEntries } from "../presence/projections/presence/presence-model.js";
import type { ChannelOutlet } from "../../platform/phoenix/channel.js";
import { Port } from "../../platform/ports.js";

/**
 * The presence of a workspace as a joined channel sees it: `enter` pushes `presence_state` to the
 * outlet, then each `presence_diff` (Phoenix.Presence format), until the returned function is
 * called; `workspaceState` is the current state. Channels filter both down to their subscribers.
 */
export interface WorkspacePresence {
  enter(workspaceId: string, outlet: ChannelOutlet): Promise<() => void>;
  workspaceState(workspaceId: string): Promise<PresenceEntries>;
}

/** Provided by the presence context; absent, channels with presence on answer joins without presence. */
export const WORKSPACE_PRESENCE = new Port<WorkspacePresence>("the workspace presence of the presence context");

/** What a publication into a conversation answers: the message's seq as `offset`, the conversation's epoch. */
export interface ConversationPublication {
  readonly offset: number;
  readonly epoch: string;
}

/**
 * Publishes a backend's `data` into a conversation as a system message (the server API's
 * `publish` to `chat:{id}` or `conversation:{id}`); with `idempotencyKey`, a retry within the
 * processor's dedupe window sends once. Rejects with a ServiceError (`not_found`, `invalid`, …).
 */
export interface ConversationPublisher {
  publish(conversationId: string, data: unknown, idempotencyKey: string | undefined): Promise<ConversationPublication>;
}

/** Provided by the conversations context; absent, a publish to a conversation is answered `not_available`. */
export const CONVERSATION_PUBLISHER = new Port<ConversationPublisher>("system messages into conversations from the server API");
