import type {
  AddReaction,
  Attachment,
  CommandMeta,
  DeleteMessage,
  EditMessage,
  MarkDelivered,
  MarkRead,
  MessageType,
  RemoveReaction,
  SendMessage,
} from "../../../../platform/contract/generated/avro-types.js";
import { decide as decideConversation } from "../membership/decide.js";
import { unreachable, type Decider } from "../../../../platform/domain/decider.js";
import { DomainError } from "../../../../platform/domain/domain-error.js";
import { own } from "../../../../platform/domain/own-entry.js";
import type { ConversationAggregateCommand } from "./commands.js";
import type { ConversationAggregateEvent, DecidedConversationAggregateEvent, DecidedMessageEvent } from "./events.js";
import {
  contentFingerprint,
  evolve,
  initialState,
  forgotOlderMessages,
  messageIn,
  reactionKey,
  RECENT_MESSAGES,
  type ActiveConversationWithMessages,
  type MessageEntry,
  type MessagesState,
} from "./state.js";

/**
 * Limits of message content, enforced by the processor whatever the gateway checked before.
 * Lengths count Unicode code points (what a user would call characters, closer than UTF-16
 * units: an emoji counts once; a flag or a family emoji is a few code points).
 */
export const MESSAGE_LIMITS = {
  /** Text of a text message, or caption of a media message; a text message is also non-blank (after trim). */
  maxContentLength: 10_000,
  /** A media message (image, file, audio, video) carries 1 to this many attachments; a text message none. */
  maxAttachments: 10,
  /** A reaction is a Unicode emoji or a `:shortcode:`: non-empty, no whitespace, control characters nor `|`. */
  maxEmojiLength: 64,
  /** Distinct users a message mentions (non-empty ids). */
  maxMentions: 50,
  /** Entries of a message's opaque client metadata (link previews…): keys of 1–64 characters, values of at most 2,048. */
  maxMetadataEntries: 32,
} as const;

/**
 * Decides the commands of the conversation aggregate, messages and membership alike.
 * Membership commands go to the conversations decider unchanged; its rules are not repeated here.
 *
 * Everywhere: a conversation that does not exist or lives in another workspace is `not_found`
 * (its existence does not leak); an actor who is not (or no longer) a member is `not_a_member`;
 * a message id the conversation does not know is `not_found`.
 *
 * - send: appends the message with `seq = lastSeq + 1`, so the seqs of a conversation are 1, 2,
 *   3 … without gaps. A message id already sent is a no-op (a redelivered or retried command).
 *   Text messages are non-blank, at most {@link MESSAGE_LIMITS} long, without attachments; media
 *   messages carry 1–10 attachments and an optional caption. `system` messages are written by
 *   the server, never by a client: `forbidden`. A send `fromServer` (a backend, through the
 *   server API) needs no membership and may be a system message. A reply must quote a message of this conversation
 *   (deleted ones included: the client shows the tombstone).
 * - edit: only by the sender (`forbidden`), never of a system message (`forbidden`) nor a
 *   deleted one (`conflict`); the same content again is a no-op. Each edit bumps the revision.
 * - delete: by the sender, or — moderation — by the conversation's owner or an admin, except in
 *   direct conversations, where only the sender may delete (the creator of a direct conversation
 *   is its "owner" but moderates nothing). Deleting a deleted message is a no-op.
 * - reactions: a user has at most one reaction per emoji per message (a repeat is a no-op);
 *   no reaction on a deleted message (`conflict`); removing a reaction that is not there is a
 *   no-op.
 * - read: moves the actor's read cursor forward to `seq` (never past the last message:
 *   `invalid`; not forward: no-op). A message that was read was delivered, so when the
 *   delivery cursor is behind, it moves along (a `MessageDelivered` follows the `MessageRead`).
 * - delivered: see {@link markDelivered}.
 */
export function decide(command: ConversationAggregateCommand, state: MessagesState): DecidedConversationAggregateEvent[] {
  switch (command.type) {
    case "CreateConversation":
    case "AddMember":
    case "RemoveMember":
    case "SetConversationMute":
      return decideConversation(command, state);
    case "SendMessage":
      return send(command.data, state);
    case "EditMessage":
      return edit(command.data, state);
    case "DeleteMessage":
      return remove(command.data, state);
    case "AddReaction":
      return addReaction(command.data, state);
    case "RemoveReaction":
      return removeReaction(command.data, state);
    case "MarkRead":
      return markRead(command.data, state);
    case "MarkDelivered":
      return markDelivered(command.data, state);
    default:
      return unreachable(command);
  }
}

function send(command: SendMessage, state: MessagesState): DecidedMessageEvent[] {
  const conversation = command.fromServer ? existingIn(command.meta, state) : membersOnly(command.meta, state);
  if (command.messageId === "") throw new DomainError("invalid", "a message needs an id");
  if (messageIn(conversation, command.messageId) !== undefined) return [];
  if (command.type === "system" && !command.fromServer) throw new DomainError("forbidden", "system messages are written by the server");
  validateMessage(command);
  // Older messages are forgotten, so only an unknown id in a conversation that forgot none is proven foreign.
  if (command.replyToMessageId !== null && messageIn(conversation, command.replyToMessageId) === undefined && !forgotOlderMessages(conversation)) {
    throw new DomainError("invalid", "a reply quotes a message of the same conversation");
  }
  return [
    {
      type: "MessageSent",
      data: {
        conversationId: command.conversationId,
        seq: conversation.lastSeq + 1,
        messageId: command.messageId,
        senderId: command.meta.actorId,
        clientMsgId: command.clientMsgId,
        type: command.type,
        content: command.content,
        attachments: command.attachments,
        replyToMessageId: command.replyToMessageId,
        mentionedUserIds: command.mentionedUserIds,
        metadata: command.metadata,
      },
    },
  ];
}

function edit(command: EditMessage, state: MessagesState): DecidedMessageEvent[] {
  const conversation = membersOnly(command.meta, state);
  const message = messageOf(conversation, command.messageId);
  if (message.type === "system") throw new DomainError("forbidden", "system messages cannot be edited");
  if (message.senderId !== command.meta.actorId) throw new DomainError("forbidden", "only its sender may edit a message");
  if (message.deleted === true) throw new DomainError("conflict", "a deleted message cannot be edited");
  validateContent(message.type ?? "text", command.content);
  validateEdit(command);
  if (message.contentHash === contentFingerprint(command.content)) return [];
  return [
    {
      type: "MessageEdited",
      data: {
        conversationId: command.conversationId,
        seq: message.seq,
        messageId: command.messageId,
        content: command.content,
        mentionedUserIds: command.mentionedUserIds,
        revision: (message.revision ?? 0) + 1,
      },
    },
  ];
}

function remove(command: DeleteMessage, state: MessagesState): DecidedMessageEvent[] {
  const conversation = membersOnly(command.meta, state);
  const message = messageOf(conversation, command.messageId);
  const actor = command.meta.actorId;
  if (message.senderId !== actor) {
    if (conversation.type === "direct") throw new DomainError("forbidden", "in a direct conversation only its sender may delete a message");
    const role = own(conversation.members, actor);
    if (role !== "owner" && role !== "admin") throw new DomainError("forbidden", "only its sender, the owner and admins may delete a message");
  }
  if (message.deleted === true) return [];
  return [{ type: "MessageDeleted", data: { conversationId: command.conversationId, seq: message.seq, messageId: command.messageId } }];
}

function addReaction(command: AddReaction, state: MessagesState): DecidedMessageEvent[] {
  const conversation = membersOnly(command.meta, state);
  validateEmoji(command.emoji);
  const message = messageOf(conversation, command.messageId);
  if (message.deleted === true) throw new DomainError("conflict", "a deleted message takes no reactions");
  const userId = command.meta.actorId;
  if (message.reactions?.includes(reactionKey(userId, command.emoji)) === true) return [];
  return [
    {
      type: "ReactionAdded",
      data: { conversationId: command.conversationId, seq: message.seq, messageId: command.messageId, userId, emoji: command.emoji },
    },
  ];
}

/** Only one's own reaction can be taken back: the key is the actor's. */
function removeReaction(command: RemoveReaction, state: MessagesState): DecidedMessageEvent[] {
  const conversation = membersOnly(command.meta, state);
  const message = messageOf(conversation, command.messageId);
  const userId = command.meta.actorId;
  if (message.reactions?.includes(reactionKey(userId, command.emoji)) !== true) return [];
  return [
    {
      type: "ReactionRemoved",
      data: { conversationId: command.conversationId, seq: message.seq, messageId: command.messageId, userId, emoji: command.emoji },
    },
  ];
}

function markRead(command: MarkRead, state: MessagesState): DecidedMessageEvent[] {
  const conversation = membersOnly(command.meta, state);
  validateCursor(command.seq, conversation);
  const userId = command.meta.actorId;
  if (command.seq <= (own(conversation.readSeq, userId) ?? 0)) return [];
  const read: DecidedMessageEvent = {
    type: "MessageRead",
    data: { conversationId: command.conversationId, seq: command.seq, userId, messageId: command.messageId },
  };
  if (command.seq <= (own(conversation.deliveredSeq, userId) ?? 0)) return [read];
  return [read, { type: "MessageDelivered", data: { conversationId: command.conversationId, seq: command.seq, userId, deviceId: null } }];
}

/**
 * Delivery receipts. A client sends `MarkDelivered {seq}` when one of the actor's devices has
 * received every message of the conversation up to and including `seq` — live (`message:new`),
 * through join recovery or history paging, or on a push the app processed — and acknowledges
 * the highest contiguous seq it holds. The cursor is per user, not per device: the first device
 * to get a message advances it ("delivered" = reached at least one device of that member), later
 * devices reporting the same or a lower seq are no-ops. `deviceId` is carried for diagnostics
 * only. A seq beyond the last message is `invalid`. Reading implies delivery (see `markRead`).
 */
function markDelivered(command: MarkDelivered, state: MessagesState): DecidedMessageEvent[] {
  const conversation = membersOnly(command.meta, state);
  validateCursor(command.seq, conversation);
  const userId = command.meta.actorId;
  if (command.seq <= (own(conversation.deliveredSeq, userId) ?? 0)) return [];
  return [
    {
      type: "MessageDelivered",
      data: { conversationId: command.conversationId, seq: command.seq, userId, deviceId: command.deviceId },
    },
  ];
}

/** The conversation, when it exists in the command's workspace. */
function existingIn(meta: CommandMeta, state: MessagesState): ActiveConversationWithMessages {
  if (state.status !== "active" || state.workspaceId !== meta.workspaceId) {
    throw new DomainError("not_found", "no such conversation");
  }
  return state;
}

/** The conversation, when it exists in the actor's workspace and the actor is a member. */
function membersOnly(meta: CommandMeta, state: MessagesState): ActiveConversationWithMessages {
  const conversation = existingIn(meta, state);
  if (own(conversation.members, meta.actorId) === undefined) throw new DomainError("not_a_member", "only members may do this");
  return conversation;
}

function messageOf(conversation: ActiveConversationWithMessages, messageId: string): MessageEntry {
  const message = messageIn(conversation, messageId);
  if (message === undefined) {
    throw new DomainError("not_found", `no such message among the ${RECENT_MESSAGES} most recent of this conversation`);
  }
  return message;
}

/**
 * The rules of a message's content, attachments, mentions and metadata, whatever the state of
 * the conversation: gateways check them before sending the command (the same rules, so a client
 * learns at once), the decider again. Throws the `invalid` DomainError that names the rule.
 */
export function validateMessage(message: Pick<SendMessage, "type" | "content" | "attachments" | "mentionedUserIds" | "metadata">): void {
  validateContent(message.type, message.content);
  validateAttachments(message.type, message.attachments);
  validateMentions(message.mentionedUserIds);
  const entries = Object.entries(message.metadata);
  if (entries.length > MESSAGE_LIMITS.maxMetadataEntries) throw new DomainError("invalid", `metadata has at most ${MESSAGE_LIMITS.maxMetadataEntries} entries`);
  if (entries.some(([key, value]) => key === "" || codePoints(key) > 64 || codePoints(value) > 2_048)) {
    throw new DomainError("invalid", "metadata keys have 1-64 characters and values at most 2048");
  }
}

function validateMentions(userIds: readonly string[]): void {
  if (userIds.length > MESSAGE_LIMITS.maxMentions) throw new DomainError("invalid", `a message mentions at most ${MESSAGE_LIMITS.maxMentions} users`);
  if (userIds.some((userId) => userId === "") || new Set(userIds).size !== userIds.length) {
    throw new DomainError("invalid", "mentionedUserIds lists distinct, non-empty user ids");
  }
}

/**
 * The rules of an edit that hold whatever message it edits (its length, its mentions); whether a
 * text may be blank depends on the message's type, which only the aggregate knows.
 */
export function validateEdit(edit: Pick<EditMessage, "content" | "mentionedUserIds">): void {
  validateLength(edit.content);
  validateMentions(edit.mentionedUserIds);
}

function validateContent(type: MessageType, content: string): void {
  if (isWordsOnly(type) && content.trim() === "") throw new DomainError("invalid", `a ${type} message may not be empty`);
  validateLength(content);
}

function validateLength(content: string): void {
  if (codePoints(content) > MESSAGE_LIMITS.maxContentLength) {
    throw new DomainError("invalid", `a message has at most ${MESSAGE_LIMITS.maxContentLength} characters`);
  }
}

/** Text and system messages are words only; the others are media. */
const isWordsOnly = (type: MessageType): boolean => type === "text" || type === "system";

function validateAttachments(type: MessageType, attachments: readonly Attachment[]): void {
  if (isWordsOnly(type)) {
    if (attachments.length > 0) throw new DomainError("invalid", `a ${type} message has no attachments; send a media message`);
    return;
  }
  if (attachments.length === 0) throw new DomainError("invalid", `a ${type} message needs an attachment`);
  if (attachments.length > MESSAGE_LIMITS.maxAttachments) {
    throw new DomainError("invalid", `a message has at most ${MESSAGE_LIMITS.maxAttachments} attachments`);
  }
  for (const attachment of attachments) {
    if (attachment.attachmentId === "" || attachment.url === "") throw new DomainError("invalid", "an attachment needs an id and a url");
    if (!Number.isSafeInteger(attachment.sizeBytes) || attachment.sizeBytes < 0) {
      throw new DomainError("invalid", "an attachment size is a non-negative number of bytes");
    }
  }
  if (new Set(attachments.map((attachment) => attachment.attachmentId)).size !== attachments.length) {
    throw new DomainError("invalid", "an attachment appears once per message");
  }
}

function validateEmoji(emoji: string): void {
  if (emoji === "" || codePoints(emoji) > MESSAGE_LIMITS.maxEmojiLength || /[\s\p{Cc}|]/u.test(emoji)) {
    throw new DomainError("invalid", `a reaction is one emoji or :shortcode: of at most ${MESSAGE_LIMITS.maxEmojiLength} characters`);
  }
}

function validateCursor(seq: number, conversation: ActiveConversationWithMessages): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new DomainError("invalid", "a cursor is a message seq");
  if (seq > conversation.lastSeq) throw new DomainError("invalid", "the cursor is past the last message");
}

function codePoints(text: string): number {
  let count = 0;
  for (const _codePoint of text) count++;
  return count;
}

/**
 * The conversation aggregate over both contexts: membership (conversations commands and events)
 * and messages. One instance per conversation, fed by `quikapp.conversations.commands` and
 * `quikapp.messages.commands` (co-partitioned by conversationId).
 */
export const messagesDecider: Decider<ConversationAggregateCommand, ConversationAggregateEvent, MessagesState> = {
  initialState,
  evolve,
  decide,
};
