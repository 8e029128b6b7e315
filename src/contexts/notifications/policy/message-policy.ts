import type { MessageType, RequestNotification } from "../../../platform/contract/generated/avro-types.js";

/** A notification the policy asks for: a `RequestNotification` without its metadata. */
export type RequestedNotification = Omit<RequestNotification, "meta">;

/** A new message as the policy keeps it while its burst waits (and as `user:{id}` `message` summarises it). */
export interface BurstMessage {
  readonly messageId: string;
  readonly seq: number;
  readonly senderId: string;
  readonly type: MessageType;
  /** The start of the text (at most {@link PREVIEW_LENGTH} characters), or a word for a media message without a caption. */
  readonly preview: string;
  readonly mentionedUserIds: readonly string[];
  /** Epoch milliseconds. */
  readonly sentAt: number;
}

/** The conversation a burst belongs to, as the membership read model knows it. */
export interface BurstConversation {
  readonly id: string;
  readonly workspaceId: string;
  /** `direct`, `group`, … (a direct conversation is titled after its sender). */
  readonly type: string;
  readonly title: string | null;
}

/** What the policy must know of one member when a burst is due. */
export interface Recipient {
  readonly userId: string;
  /** The last seq the member read (or sent) in the conversation. */
  readonly readSeq: number;
  /** A live socket of the member has joined the conversation's topic (`chat:` or `conversation:`). */
  readonly viewing: boolean;
  /** The member muted the conversation. */
  readonly muted: boolean;
  /** Unread messages over all the member's conversations: the app icon's badge. */
  readonly badge: number;
}

/** Characters of a message kept for its preview. */
export const PREVIEW_LENGTH = 100;
/** Senders named in a summary before "and n others". */
const NAMED_SENDERS = 3;

/** The preview of a message: its text cut to {@link PREVIEW_LENGTH} characters (code points), or what a media message is. */
export function previewOf(type: MessageType, content: string): string {
  const text = content.trim();
  if (text === "") return type === "text" || type === "system" ? "" : `sent ${type === "image" ? "an image" : type === "audio" ? "an audio message" : `a ${type}`}`;
  const points = [...text];
  return points.length <= PREVIEW_LENGTH ? text : `${points.slice(0, PREVIEW_LENGTH - 1).join("")}…`;
}

/**
 * The id of a member's notification for a burst: the conversation, the burst's first seq and the
 * member. A burst is replayed from its first message, so a redelivered event or a restart asks
 * again with the same id, which the notifications aggregate answers as already requested.
 */
export function burstNotificationId(conversationId: string, firstSeq: number, userId: string): string {
  return `message:${conversationId}:${firstSeq}:${userId}`;
}

/**
 * The notification a member gets for a burst of messages, or undefined when none is due (pure):
 * none for a member who is viewing the conversation, who muted it, or for whom no message of the
 * burst is someone else's, unread and not a system message. One notification summarises every such message:
 * `mention` (priority high) when one of them mentions the member, otherwise `new_message`;
 * collapse key per conversation; `data` carries the badge, the conversation's unread count in
 * the burst and the last message's seq.
 */
export function burstNotification(
  conversation: BurstConversation,
  burst: readonly BurstMessage[],
  recipient: Recipient,
  nameOf: (userId: string) => string,
): RequestedNotification | undefined {
  const first = burst[0];
  if (first === undefined || recipient.viewing || recipient.muted) return undefined;
  // System messages (a member joined, a call ended) are shown in the conversation, never pushed.
  const unread = burst.filter((message) => message.type !== "system" && message.senderId !== recipient.userId && message.seq > recipient.readSeq);
  const last = unread[unread.length - 1];
  if (last === undefined) return undefined;
  const mention = unread.some((message) => message.mentionedUserIds.includes(recipient.userId));
  const senders = [...new Set(unread.map((message) => message.senderId))].map(nameOf);
  const direct = conversation.type === "direct";
  const title = direct || conversation.title === null || conversation.title === "" ? senders[0]! : conversation.title;
  const body = unread.length === 1 ? (direct ? last.preview : `${senders[0]!}: ${last.preview}`) : `${unread.length} new messages from ${namesOf(senders)}`;
  return {
    userId: recipient.userId,
    notificationId: burstNotificationId(conversation.id, first.seq, recipient.userId),
    category: mention ? "mention" : "new_message",
    title,
    body,
    data: {
      conversationId: conversation.id,
      messageId: last.messageId,
      seq: String(last.seq),
      count: String(unread.length),
      badge: String(recipient.badge),
    },
    conversationId: conversation.id,
    messageId: last.messageId,
    callId: null,
    huddleId: null,
    priority: mention ? "high" : "normal",
    collapseKey: `conversation:${conversation.id}`,
  };
}

/** A member's read cursor advanced in a conversation they were pushed about: their devices should drop its notifications. */
export interface ConversationRead {
  readonly workspaceId: string;
  readonly conversationId: string;
  readonly userId: string;
  /** The member's new read cursor: every message up to it is read. */
  readonly readSeq: number;
}

/**
 * The id of the silent notification of a read: the conversation, the read cursor and the member,
 * so that a replayed read, or a flush made again, asks again with the same id.
 */
export function conversationReadNotificationId(read: Pick<ConversationRead, "conversationId" | "readSeq" | "userId">): string {
  return `read:${read.conversationId}:${read.readSeq}:${read.userId}`;
}

/**
 * The badge after a read (pure): `badge` counted from read positions that may not show the read
 * yet (`readModelSeq`, the member's cursor there), less the messages the read covers beyond it. A
 * read cursor never passes the conversation's last message, so this is what the read model will
 * count once it has the read.
 */
export function badgeAfterRead(badge: number, readSeq: number, readModelSeq: number): number {
  return Math.max(0, badge - Math.max(0, readSeq - readModelSeq));
}

/**
 * The silent notification that tells a member's devices a conversation was read (pure):
 * `conversation_read`, priority normal, `data` {conversationId, readSeq, badge}; no title or body
 * (nothing is shown). Every device gets it, the one the member read on included, which finds
 * nothing left to remove. Collapse key per conversation, apart from its alerts': a newer read
 * replaces an older one not yet delivered.
 */
export function conversationReadNotification(read: ConversationRead, badge: number): RequestedNotification {
  const { conversationId, userId, readSeq } = read;
  return {
    userId,
    notificationId: conversationReadNotificationId(read),
    category: "conversation_read",
    title: "",
    body: "",
    data: { conversationId, readSeq: String(readSeq), badge: String(badge) },
    conversationId,
    messageId: null,
    callId: null,
    huddleId: null,
    priority: "normal",
    collapseKey: `conversation-read:${conversationId}`,
  };
}

/** "A", "A and B", "A, B and C", "A, B, C and 2 others". */
function namesOf(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  if (names.length <= NAMED_SENDERS) return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]!}`;
  const others = names.length - NAMED_SENDERS;
  return `${names.slice(0, NAMED_SENDERS).join(", ")} and ${others} other${others === 1 ? "" : "s"}`;
}
