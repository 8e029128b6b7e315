import type {
  AddReaction,
  CommandMeta,
  DeleteMessage,
  EditMessage,
  MarkRead,
  RemoveReaction,
} from "../../../platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import type { ChannelReply, SocketIdentity } from "../../../platform/phoenix/channel.js";
import type { ConversationActions } from "./conversation-family.js";
import type { ConversationAction } from "./dialects.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import { refuse, replying } from "../../../platform/phoenix/channel-replies.js";
import { validateEdit } from "../domain/messages/decide.js";
import { count, invalid, optionalText, text } from "../../../platform/gateway/payload-fields.js";
import { mentionedUserIds, sendMessageCommand } from "./message-payloads.js";

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
 * processor checks them again. A send is made as `POST /api/conversations/:id/messages` makes
 * it ({@link sendMessageCommand}): a retry with the same `clientMsgId` is answered with the first
 * outcome and never creates a second message.
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
    send: (conversationId, payload, identity) => send(conversationId, "SendMessage", sendMessageCommand(bus, conversationId, payload, identity)),
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
