/**
 * What the notification policy keeps in Redis, and what it pushes to users' sockets. Every name
 * starts with the Kafka topic prefix (`<p>`).
 *
 * The `notify-messages` projection (of `quikapp.messages.events`):
 * - `<p>notify:messages:checkpoint` hash: `<topic>:<partition>` → next offset, written in the
 *   same MULTI/EXEC as the bursts below;
 * - `<p>notify:messages:burst:<conversationId>` list: JSON {@link PendingMessage}s of the
 *   conversation's burst, oldest first;
 * - `<p>notify:messages:due` sorted set: conversationId scored by when its burst is due (epoch
 *   ms: its first message's arrival plus the batching window);
 * - `<p>notify:messages:notified:<conversationId>` hash: userId → the last seq the member was
 *   notified of and has not read since (written by the flusher; expires a week after its last write);
 * - `<p>notify:messages:read:<conversationId>` hash: userId → the member's read cursor as the
 *   policy read it from `MessageRead` (expires likewise);
 * - `<p>notify:messages:reads-due` hash: `[workspaceId, conversationId, userId]` as JSON → the
 *   read cursor whose silent notification is still to be requested (a newer read replaces it).
 *
 * The `notify-calls` projection (of `quikapp.calls.events`):
 * - `<p>notify:calls:checkpoint` hash, as above;
 * - `<p>notify:calls:call:<callId>`: JSON `RingingCall` of a live call (expires after a day, for
 *   a call whose end never comes);
 * - `<p>notify:calls:outbox` list: JSON {@link OutboxEntry}s, the notifications decided and not
 *   yet requested, oldest first.
 *
 * The `notify-huddles` projection (of `quikapp.huddles.events`):
 * - `<p>notify:huddles:checkpoint` hash, as above;
 * - `<p>notify:huddles:huddle:<huddleId>`: JSON `InvitingHuddle` of a live huddle (its
 *   conversation and title; expires a day after its last event, for a huddle whose end never
 *   comes);
 * - `<p>notify:huddles:outbox` list: JSON {@link OutboxEntry}s of invitations, as for calls; an
 *   entry whose huddle is gone from the key above when it is flushed is dropped.
 *
 * `<p>notify:lock:<name>`: held by the process flushing a burst or the outbox (a few seconds).
 */

import type { BurstMessage, RequestedNotification } from "./message-policy.js";

export const policyKeys = (prefix: string) => ({
  messages: {
    checkpoint: `${prefix}notify:messages:checkpoint`,
    keyPrefix: `${prefix}notify:messages:`,
    burst: (conversationId: string) => `${prefix}notify:messages:burst:${conversationId}`,
    due: `${prefix}notify:messages:due`,
    notified: (conversationId: string) => `${prefix}notify:messages:notified:${conversationId}`,
    read: (conversationId: string) => `${prefix}notify:messages:read:${conversationId}`,
    readsDue: `${prefix}notify:messages:reads-due`,
  },
  calls: {
    checkpoint: `${prefix}notify:calls:checkpoint`,
    keyPrefix: `${prefix}notify:calls:`,
    call: (callId: string) => `${prefix}notify:calls:call:${callId}`,
    outbox: `${prefix}notify:calls:outbox`,
  },
  huddles: {
    checkpoint: `${prefix}notify:huddles:checkpoint`,
    keyPrefix: `${prefix}notify:huddles:`,
    huddle: (huddleId: string) => `${prefix}notify:huddles:huddle:${huddleId}`,
    outbox: `${prefix}notify:huddles:outbox`,
  },
  lock: (name: string) => `${prefix}notify:lock:${name}`,
});

/** A message of a burst, with the workspace of its conversation. */
export interface PendingMessage extends BurstMessage {
  readonly workspaceId: string;
}

/** A notification decided and waiting to be requested, with what its command's metadata needs. */
export interface OutboxEntry {
  readonly workspaceId: string;
  /** The call or conversation it is about: the command's correlation id. */
  readonly correlationId: string;
  readonly notification: RequestedNotification;
}

/**
 * Published on {@link toUserChannel}: what `user:{userId}` pushes. `message` is pushed to the
 * user's sockets that have not joined the conversation; `notification` to every socket of the
 * user's channel. Only sockets of `workspaceId` receive it.
 */
export type ToUserPush =
  | { readonly event: "message"; readonly workspaceId: string; readonly conversationId: string; readonly payload: MessageSummary }
  | { readonly event: "notification"; readonly workspaceId: string; readonly payload: NotificationSummary };

/** `user:{userId}` `message`: a compact summary of a new message. */
export interface MessageSummary {
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly senderId: string;
  readonly type: string;
  readonly preview: string;
  /** Whether the message mentions the receiving user. */
  readonly mentioned: boolean;
  /** Epoch milliseconds. */
  readonly sentAt: number;
}

/** `user:{userId}` `notification`: a notification requested for the user, as its push would show it. */
export interface NotificationSummary {
  readonly notificationId: string;
  readonly category: string;
  readonly title: string;
  readonly body: string;
  readonly data: Readonly<Record<string, string>>;
  readonly conversationId: string | null;
  readonly messageId: string | null;
  readonly callId: string | null;
  readonly priority: string;
}

/** The Redis pub/sub channel of a user's {@link ToUserPush}es. */
export const toUserChannel = (prefix: string, userId: string): string => `${prefix}notify:to-user:${userId}`;

/** A summary of `message` for `userId`. */
export function messageSummary(conversationId: string, message: BurstMessage, userId: string): MessageSummary {
  const { messageId, seq, senderId, type, preview, sentAt } = message;
  return { conversationId, messageId, seq, senderId, type, preview, mentioned: message.mentionedUserIds.includes(userId), sentAt };
}

/** The `notification` push of a requested notification. */
export function notificationSummary(notification: RequestedNotification): NotificationSummary {
  const { notificationId, category, title, body, data, conversationId, messageId, callId, priority } = notification;
  return { notificationId, category, title, body, data, conversationId, messageId, callId, priority };
}
