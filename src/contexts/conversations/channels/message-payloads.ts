import { createHash } from "node:crypto";
import type { Attachment, MessageType, SendMessage } from "../../../platform/contract/generated/avro-types.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { absent, count, invalid, optionalText, text } from "../../../platform/gateway/payload-fields.js";
import type { CommandBus, IssuedBy } from "../../../platform/gateway/command-bus.js";
import { validateMessage } from "../domain/messages/decide.js";

/*
 * Reading a message payload (a socket push or a REST body) into a command, with the readers of
 * `payload-fields.ts`.
 */

/** The message types a client may send (`system` is the server's). */
const MESSAGE_TYPES: readonly MessageType[] = ["text", "image", "file", "audio", "video"];

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

/** The `mentionedUserIds` field: user ids, none when absent. */
export function mentionedUserIds(payload: Record<string, unknown>): string[] {
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

/** A stable id (UUID-shaped) from its parts: the same parts always give the same id. */
export const derivedId = (...parts: string[]): string => {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/**
 * The `SendMessage` of a send payload `{content, type?, clientMsgId?, attachments?,
 * replyToMessageId?, mentionedUserIds?, metadata?}` by `sender`, checked against the domain's
 * rules of a message before anything is sent (throws the `invalid` ServiceError that names the
 * field or the rule). The socket's `message:send` and `POST /api/conversations/:id/messages` both
 * make their sends here, so they follow the same rules. With a `clientMsgId`, the commandId and
 * the messageId derive from the sender, the conversation and that id: a retry (from either) is
 * the same command for the same message, answered with the first outcome.
 */
export function sendMessageCommand(bus: Pick<CommandBus, "meta">, conversationId: string, payload: Record<string, unknown>, sender: IssuedBy): SendMessage {
  const clientMsgId = optionalText(payload, "clientMsgId", 128);
  const type = (payload.type ?? "text") as MessageType;
  if (!MESSAGE_TYPES.includes(type)) throw invalid(`type must be one of ${MESSAGE_TYPES.join(", ")}`);
  const commandId = clientMsgId === null ? undefined : derivedId("send", sender.userId, conversationId, clientMsgId);
  const meta = bus.meta(sender, commandId);
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
    fromServer: false,
  };
  try {
    validateMessage(command);
  } catch (error) {
    if (error instanceof DomainError) throw invalid(error.message);
    throw error;
  }
  return command;
}
