import type { EventMeta, MessageSent } from "../../src/platform/contract/generated/avro-types.js";

/**
 * The `MessageSent` of message `seq` of `conversationId`: a text from alice, `"<conversation> says
 * <seq>"`, with id `<conversation>-m<seq>`, unless `fields` say otherwise.
 */
export function messageSent(conversationId: string, seq: number, meta: EventMeta, fields: Partial<Omit<MessageSent, "meta" | "conversationId" | "seq">> = {}): MessageSent {
  return {
    meta,
    conversationId,
    seq,
    messageId: `${conversationId}-m${seq}`,
    senderId: "alice",
    clientMsgId: null,
    type: "text",
    content: `${conversationId} says ${seq}`,
    attachments: [],
    replyToMessageId: null,
    mentionedUserIds: [],
    metadata: {},
    ...fields,
  };
}
