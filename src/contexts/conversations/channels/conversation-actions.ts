import { createHash } from "node:crypto";
import type {
  AddReaction,
  CommandMeta,
  Attachment,
  DeleteMessage,
  EditMessage,
  MarkRead,
  MessageType,
  RemoveReaction,
  SendMessage,
} from "../../../platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import type { ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { ConversationActions } from "./conversation-family.js";
import type { ConversationAction } from "./dialects.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import { validateEdit, validateMessage } from "../domain/messages/decide.js";

const MESSAGE_TYPES: readonly MessageType[] = ["text", "image", "file", "audio", "video"];

const invalid = (message: string) => new ServiceError("invalid", message);
const absent = (value: unknown) => value === undefined || value === null;

/** A string field; ids and names have their length bounded here, content by the domain's rules. */
const text = (payload: Record<string, unknown>, field: string, max?: number): string => {
  const value = payload[field];
  if (absent(value)) throw invalid(`${field} is required`);
  if (typeof value !== "string") throw invalid(`${field} must be a string`);
  if (max !== undefined && value.length > max) throw invalid(`${field} must be at most ${max} characters`);
  return value;
};
const optionalText = (payload: Record<string, unknown>, field: string, max: number): string | null =>
  absent(payload[field]) ? null : text(payload, field, max);
const count = (payload: Record<string, unknown>, field: string): number => {
  const value = payload[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw invalid(`${field} must be a non-negative integer`);
  return value;
};
const optionalCount = (payload: Record<string, unknown>, field: string): number | null =>
  absent(payload[field]) ? null : count(payload, field);

function list(payload: Record<string, unknown>, field: string): unknown[] {
  const value = payload[field] ?? [];
  if (!Array.isArray(value)) throw invalid(`${field} must be a list`);
  return value;
}

function attachments(payload: Record<string, unknown>): Attachment[] {
  return list(payload, "attachments").map((item: unknown) => {
    if (typeof item !== "object" || item === null) throw invalid("each attachment must be an object");
    const entry = item as Record<string, unknown>;
    return {
      attachmentId: text(entry, "attachmentId", 128),
      url: text(entry, "url", 2048),
      mimeType: text(entry, "mimeType", 255),
      sizeBytes: count(entry, "sizeBytes"),
      fileName: optionalText(entry, "fileName", 255),
      width: optionalCount(entry, "width"),
      height: optionalCount(entry, "height"),
      durationMs: optionalCount(entry, "durationMs"),
      thumbnailUrl: optionalText(entry, "thumbnailUrl", 2048),
    };
  });
}

function mentionedUserIds(payload: Record<string, unknown>): string[] {
  return list(payload, "mentionedUserIds").map((userId) => {
    if (typeof userId !== "string" || userId.length > 128) throw invalid("mentionedUserIds must be user ids of at most 128 characters");
    return userId;
  });
}

function metadata(payload: Record<string, unknown>): Record<string, string> {
  const value = payload.metadata ?? {};
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.values(value).some((entry) => typeof entry !== "string")) {
    throw invalid("metadata must be an object of strings");
  }
  return { ...(value as Record<string, string>) };
}

/** A stable id from its parts: a retried push with the same clientMsgId is the same command for the same message. */
const derivedId = (...parts: string[]): string => {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/** Typing indicators on conversation topics: start (or keep) and stop. */
export interface TypingActions {
  start(conversationId: string, identity: SocketIdentity): Promise<ChannelReply>;
  stop(conversationId: string, identity: SocketIdentity): Promise<ChannelReply>;
}

/**
 * Turns conversation pushes into commands of the messages context and answers with their
 * outcome: `ok` with the processor's result (`{id, seq, sentAt}` for a send), or `error` with
 * `{reason, message}` where reason is a stable error code. A payload is checked against the
 * domain's own rules before anything is sent (`invalid`, naming the field or the rule); the
 * processor checks them again. A send that carries a `clientMsgId`
 * derives its commandId and messageId from the sender, the conversation and that id, so a
 * client retry is answered with the first outcome and never creates a second message.
 * Typing pushes go to what `typing` finds when they arrive (nothing: answered `not_available`).
 */
export function conversationActions(bus: CommandBus, typing: () => TypingActions | undefined = () => undefined): ConversationActions {
  const send = (conversationId: string, type: string, command: { meta: CommandMeta }): Promise<ChannelReply> =>
    replying(async () => ({ ...(await bus.request("messages", type, conversationId, command)) }));

  const typingOr = (conversationId: string, identity: SocketIdentity, typingNow: boolean): Promise<ChannelReply> => {
    const actions = typing();
    if (actions === undefined) return Promise.resolve(refuse("not_available"));
    return typingNow ? actions.start(conversationId, identity) : actions.stop(conversationId, identity);
  };

  const reaction = (conversationId: string, payload: Record<string, unknown>, identity: SocketIdentity): AddReaction & RemoveReaction => ({
    meta: bus.meta(identity),
    conversationId,
    messageId: text(payload, "messageId", 128),
    emoji: text(payload, "emoji", 64),
  });

  const handlers: Partial<Record<ConversationAction, (id: string, p: Record<string, unknown>, who: SocketIdentity) => Promise<ChannelReply>>> = {
    send: (conversationId, payload, identity) => {
      const clientMsgId = optionalText(payload, "clientMsgId", 128);
      const type = (payload.type ?? "text") as MessageType;
      if (!MESSAGE_TYPES.includes(type)) throw invalid(`type must be one of ${MESSAGE_TYPES.join(", ")}`);
      const commandId = clientMsgId === null ? undefined : derivedId("send", identity.userId, conversationId, clientMsgId);
      const meta = bus.meta(identity, commandId);
      const command: SendMessage = {
        meta,
        conversationId,
        messageId: commandId ?? meta.commandId,
        clientMsgId,
        type,
        content: text(payload, "content"),
        attachments: attachments(payload),
        replyToMessageId: optionalText(payload, "replyToMessageId", 128),
        mentionedUserIds: mentionedUserIds(payload),
        metadata: metadata(payload),
      };
      validateMessage(command);
      return send(conversationId, "SendMessage", command);
    },
    edit: (conversationId, payload, identity) => {
      const command: EditMessage = {
        meta: bus.meta(identity),
        conversationId,
        messageId: text(payload, "messageId", 128),
        content: text(payload, "content"),
        mentionedUserIds: mentionedUserIds(payload),
      };
      validateEdit(command);
      return send(conversationId, "EditMessage", command);
    },
    delete: (conversationId, payload, identity) => {
      const command: DeleteMessage = { meta: bus.meta(identity), conversationId, messageId: text(payload, "messageId", 128) };
      return send(conversationId, "DeleteMessage", command);
    },
    react: (conversationId, payload, identity) => send(conversationId, "AddReaction", reaction(conversationId, payload, identity)),
    unreact: (conversationId, payload, identity) => send(conversationId, "RemoveReaction", reaction(conversationId, payload, identity)),
    read: (conversationId, payload, identity) => {
      const command: MarkRead = {
        meta: bus.meta(identity),
        conversationId,
        seq: count(payload, "seq"),
        messageId: optionalText(payload, "messageId", 128),
      };
      return send(conversationId, "MarkRead", command);
    },
    typing_start: (conversationId, _payload, identity) => typingOr(conversationId, identity, true),
    typing_stop: (conversationId, _payload, identity) => typingOr(conversationId, identity, false),
    typing: (conversationId, payload, identity) => {
      if (typeof payload.typing !== "boolean") throw invalid("typing must be true or false");
      return typingOr(conversationId, identity, payload.typing);
    },
  };

  return {
    async handle(action, conversationId, payload, identity) {
      const handler = handlers[action];
      if (handler === undefined) return refuse("not_available");
      try {
        return await handler(conversationId, payload, identity);
      } catch (error) {
        // A payload refused before anything was sent.
        if (error instanceof ServiceError || error instanceof DomainError) return refuse(error.code, { message: error.message });
        throw error;
      }
    },
  };
}
