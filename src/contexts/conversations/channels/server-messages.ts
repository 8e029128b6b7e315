import type { SendMessage } from "../../../platform/contract/generated/avro-types.js";
import type { CommandBus } from "../../../platform/gateway/command-bus.js";
import { SERVER_ACTOR } from "../../../platform/gateway/server-api/server-method.js";
import { ServiceError } from "../../../platform/errors/error-codes.js";
import type { ConversationPublisher } from "../../channels/ports.js";
import type { MembershipReadModel } from "../projections/membership/membership-read-model.js";
import { derivedId } from "./message-payloads.js";

/**
 * A backend's publication into a conversation: a `system` message sent by the service itself
 * (`fromServer`: the processor asks no membership of it), whose content is `data` when it is a
 * string, or its `content` field. Its seq is the publication's offset; the conversation's
 * creation time its epoch.
 */
export function serverMessages(bus: CommandBus, conversations: Pick<MembershipReadModel, "conversation">): ConversationPublisher {
  return {
    async publish(conversationId, data, idempotencyKey) {
      const content = typeof data === "string" ? data : (data as { content?: unknown } | null)?.content;
      if (typeof content !== "string") throw new ServiceError("invalid", "data for a conversation is its text, or {content: text}");
      const view = await conversations.conversation(conversationId);
      if (view === undefined) throw new ServiceError("not_found", "no such conversation");
      const commandId = idempotencyKey === undefined ? undefined : derivedId("server-send", conversationId, idempotencyKey);
      const meta = bus.meta({ userId: SERVER_ACTOR, workspaceId: view.workspaceId }, commandId);
      const command: SendMessage = {
        meta,
        conversationId,
        messageId: meta.commandId,
        clientMsgId: null,
        type: "system",
        content,
        attachments: [],
        replyToMessageId: null,
        mentionedUserIds: [],
        metadata: {},
        fromServer: true,
      };
      const { seq } = await bus.request("messages", "SendMessage", conversationId, command);
      return { offset: Number(seq), epoch: String(view.createdAt) };
    },
  };
}
