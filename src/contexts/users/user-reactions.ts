import type { CommandMeta, DisconnectUser, RemoveMember, UnsubscribeUser, UpdateProfile, UsersEvent } from "../../platform/contract/generated/avro-types.js";
import type { CommandContext } from "../../platform/contract/topics.js";
import { USER_SERVICE_ACTOR } from "../../platform/domain/system-actors.js";

/** A command this service issues in reaction to an upstream user event. */
export interface UserReaction {
  readonly context: CommandContext;
  readonly type: string;
  readonly key: string;
  readonly command: { readonly meta: CommandMeta };
}

/**
 * What the service does about one upstream user event (pure). A deleted user: disconnected
 * everywhere with every token refused (`DisconnectUser` `user_deleted`, whose socket closes take
 * its presence offline), removed from each of `conversations` (its memberships as the read
 * model knows them) by the user service (`RemoveMember`, which a conversation's decider accepts
 * from `system:users` alone), and unsubscribed from each of `channels` (`UnsubscribeUser`). A created or updated user: its display name and avatar
 * for its presence metas (`UpdateProfile`).
 *
 * Commands are derived from the event alone: ids `users:<eventId>:…`, issued at the event's
 * time by `system:users` in its workspace, so that a redelivered event yields the same
 * commands, which the processors answer as duplicates (or find already done).
 */
export function reactionsTo(event: UsersEvent, memberships: { readonly conversations: readonly string[]; readonly channels: readonly string[] }): UserReaction[] {
  const { userId, meta } = event.data;
  const metaFor = (what: string): CommandMeta => ({
    commandId: `users:${meta.eventId}:${what}`,
    correlationId: meta.correlationId,
    actorId: USER_SERVICE_ACTOR,
    workspaceId: meta.workspaceId,
    issuedAt: meta.occurredAt,
    replyTo: null,
  });
  if (event.type !== "UserDeleted") {
    const { displayName, avatarUrl } = event.data;
    const profile: UpdateProfile = { meta: metaFor("profile"), userId, displayName, avatarUrl };
    return [{ context: "presence", type: "UpdateProfile", key: userId, command: profile }];
  }
  const disconnect: DisconnectUser = { meta: metaFor("disconnect"), userId, cause: "user_deleted", revokeTokens: true };
  return [
    { context: "sessions", type: "DisconnectUser", key: userId, command: disconnect },
    ...memberships.conversations.map((conversationId): UserReaction => {
      const leave: RemoveMember = { meta: metaFor(`leave:${conversationId}`), conversationId, userId };
      return { context: "conversations", type: "RemoveMember", key: conversationId, command: leave };
    }),
    ...memberships.channels.map((channelId): UserReaction => {
      const leave: UnsubscribeUser = { meta: metaFor(`unsubscribe:${channelId}`), channelId, userId };
      return { context: "channels", type: "UnsubscribeUser", key: channelId, command: leave };
    }),
  ];
}
