import { describe, expect, it } from "vitest";
import type { Attachment, CommandMeta, MessageType, SendMessage } from "../../../../src/platform/contract/generated/avro-types.js";
import { withEventMeta } from "../../../../src/platform/processor/event-meta.js";
import type { DecidedConversationEvent } from "../../../../src/contexts/conversations/domain/membership/events.js";
import { DomainError } from "../../../../src/platform/domain/domain-error.js";
import type { ConversationAggregateCommand } from "../../../../src/contexts/conversations/domain/messages/commands.js";
import { MESSAGE_LIMITS, messagesDecider } from "../../../../src/contexts/conversations/domain/messages/decide.js";
import type { ConversationAggregateEvent, DecidedConversationAggregateEvent, DecidedMessageEvent } from "../../../../src/contexts/conversations/domain/messages/events.js";
import { evolve, GENERATION, initialState, RECENT_MESSAGES, type MessagesState } from "../../../../src/contexts/conversations/domain/messages/state.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(messagesDecider);
const SENT_AT = 1_700_000_000_000;

type Role = "owner" | "admin" | "member";
const meta = (actorId: string, workspaceId = "w1"): CommandMeta => commandMeta({ actorId, workspaceId, issuedAt: SENT_AT });

// ---- events, as decide returns them

const created = (
  members: { userId: string; role: Role }[] = [
    { userId: "u1", role: "owner" },
    { userId: "u2", role: "member" },
    { userId: "u3", role: "admin" },
  ],
  type: "direct" | "group" | "channel" = "group",
): DecidedConversationEvent => ({
  type: "ConversationCreated",
  data: { conversationId: "c1", type, title: type === "direct" ? null : "Team", description: null, createdBy: "u1", members },
});
const added = (userId: string, role: "admin" | "member" = "member"): DecidedConversationEvent => ({
  type: "MemberAdded",
  data: { conversationId: "c1", userId, role },
});
const removed = (userId: string): DecidedConversationEvent => ({
  type: "MemberRemoved",
  data: { conversationId: "c1", userId, reason: "removed" },
});
const image: Attachment = {
  attachmentId: "a1",
  url: "https://media.example/a1.png",
  mimeType: "image/png",
  sizeBytes: 1024,
  fileName: "a1.png",
  width: 640,
  height: 480,
  durationMs: null,
  thumbnailUrl: null,
};
const sent = (
  messageId: string,
  seq: number,
  senderId = "u1",
  data: Partial<Omit<SendMessage, "meta" | "conversationId" | "messageId">> = {},
): DecidedMessageEvent => ({
  type: "MessageSent",
  data: {
    conversationId: "c1",
    seq,
    messageId,
    senderId,
    clientMsgId: null,
    type: "text",
    content: `hello ${messageId}`,
    attachments: [],
    replyToMessageId: null,
    mentionedUserIds: [],
    metadata: {},
    ...data,
  },
});
const edited = (messageId: string, seq: number, content: string, revision = 1): DecidedMessageEvent => ({
  type: "MessageEdited",
  data: { conversationId: "c1", seq, messageId, content, mentionedUserIds: [], revision },
});
const deleted = (messageId: string, seq: number): DecidedMessageEvent => ({ type: "MessageDeleted", data: { conversationId: "c1", seq, messageId } });
const reacted = (messageId: string, seq: number, userId: string, emoji: string): DecidedMessageEvent => ({
  type: "ReactionAdded",
  data: { conversationId: "c1", seq, messageId, userId, emoji },
});
const unreacted = (messageId: string, seq: number, userId: string, emoji: string): DecidedMessageEvent => ({
  type: "ReactionRemoved",
  data: { conversationId: "c1", seq, messageId, userId, emoji },
});
const read = (userId: string, seq: number, messageId: string | null = null): DecidedMessageEvent => ({
  type: "MessageRead",
  data: { conversationId: "c1", seq, userId, messageId },
});
const delivered = (userId: string, seq: number, deviceId: string | null = null): DecidedMessageEvent => ({
  type: "MessageDelivered",
  data: { conversationId: "c1", seq, userId, deviceId },
});

// ---- commands

const send = (
  messageId: string,
  actorId = "u1",
  data: Partial<Omit<SendMessage, "meta" | "conversationId" | "messageId">> = {},
  workspaceId = "w1",
): ConversationAggregateCommand => ({
  type: "SendMessage",
  data: {
    meta: meta(actorId, workspaceId),
    conversationId: "c1",
    messageId,
    clientMsgId: null,
    type: "text",
    content: `hello ${messageId}`,
    attachments: [],
    replyToMessageId: null,
    mentionedUserIds: [],
    metadata: {},
    fromServer: false,
    ...data,
  },
});
const edit = (messageId: string, content: string, actorId = "u1"): ConversationAggregateCommand => ({
  type: "EditMessage",
  data: { meta: meta(actorId), conversationId: "c1", messageId, content, mentionedUserIds: [] },
});
const del = (messageId: string, actorId = "u1"): ConversationAggregateCommand => ({
  type: "DeleteMessage",
  data: { meta: meta(actorId), conversationId: "c1", messageId },
});
const react = (messageId: string, emoji: string, actorId = "u1"): ConversationAggregateCommand => ({
  type: "AddReaction",
  data: { meta: meta(actorId), conversationId: "c1", messageId, emoji },
});
const unreact = (messageId: string, emoji: string, actorId = "u1"): ConversationAggregateCommand => ({
  type: "RemoveReaction",
  data: { meta: meta(actorId), conversationId: "c1", messageId, emoji },
});
const markRead = (seq: number, actorId = "u1", messageId: string | null = null): ConversationAggregateCommand => ({
  type: "MarkRead",
  data: { meta: meta(actorId), conversationId: "c1", seq, messageId },
});
const markDelivered = (seq: number, actorId = "u1", deviceId: string | null = null): ConversationAggregateCommand => ({
  type: "MarkDelivered",
  data: { meta: meta(actorId), conversationId: "c1", seq, deviceId },
});
const addMember = (userId: string, actorId = "u1"): ConversationAggregateCommand => ({
  type: "AddMember",
  data: { meta: meta(actorId), conversationId: "c1", userId, role: "member" },
});

/** Folds decided events into a state the way the runtime does: with the meta of their command. */
function apply(state: MessagesState, command: ConversationAggregateCommand, events: readonly DecidedConversationAggregateEvent[]): MessagesState {
  return withEventMeta<ConversationAggregateEvent>(command.data.meta, events).reduce((folded, event) => messagesDecider.evolve(folded, event), state);
}

describe("messages decider", () => {
  describe("when the conversation does not exist", () => {
    it("answers every messages command with not_found", () => {
      for (const command of [send("m1"), edit("m1", "x"), del("m1"), react("m1", "👍"), unreact("m1", "👍"), markRead(0), markDelivered(0)]) {
        spec.given([]).when(command).thenThrows("not_found");
      }
    });

    it("creates it through the conversations rules", () => {
      spec.given([]).when({
        type: "CreateConversation",
        data: { meta: meta("u1"), conversationId: "c1", type: "group", title: "Team", description: null, memberIds: ["u2"] },
      }).then([created([{ userId: "u1", role: "owner" }, { userId: "u2", role: "member" }])]);
    });
  });

  describe("when the conversation lives in another workspace", () => {
    it("hides it: not_found, even for its members", () => {
      spec.given([created()], { workspaceId: "w2" }).when(send("m1")).thenThrows("not_found");
      spec.given([created(), sent("m1", 1)]).when(send("m2", "u1", {}, "w2")).thenThrows("not_found");
    });
  });

  describe("when the conversation is active", () => {
    const group = [created()];

    it("assigns seq 1, 2, 3 to the messages sent", () => {
      spec.given(group).when(send("m1")).then([sent("m1", 1)]);
      spec.given([...group, sent("m1", 1)]).when(send("m2", "u2")).then([sent("m2", 2, "u2")]);
      spec.given([...group, sent("m1", 1), sent("m2", 2, "u2")]).when(send("m3", "u3")).then([sent("m3", 3, "u3")]);
    });

    it("carries what consumers need: sender from the actor, client id, attachments, reply, mentions, metadata", () => {
      const data = {
        clientMsgId: "cm-9",
        type: "image" as MessageType,
        content: "",
        attachments: [image],
        replyToMessageId: "m1",
        mentionedUserIds: ["u3"],
        metadata: { preview: "x" },
      };
      spec.given([...group, sent("m1", 1)]).when(send("m2", "u2", data)).then([sent("m2", 2, "u2", data)]);
    });

    it("refuses messages from non-members", () => {
      spec.given(group).when(send("m1", "u9")).thenThrows("not_a_member");
      spec.given([...group, sent("m1", 1)]).when(edit("m1", "x", "u9")).thenThrows("not_a_member");
      spec.given([...group, sent("m1", 1)]).when(del("m1", "u9")).thenThrows("not_a_member");
      spec.given([...group, sent("m1", 1)]).when(react("m1", "👍", "u9")).thenThrows("not_a_member");
      spec.given([...group, sent("m1", 1)]).when(unreact("m1", "👍", "u9")).thenThrows("not_a_member");
      spec.given([...group, sent("m1", 1)]).when(markRead(1, "u9")).thenThrows("not_a_member");
      spec.given([...group, sent("m1", 1)]).when(markDelivered(1, "u9")).thenThrows("not_a_member");
    });

    it("does not take ids that name Object.prototype members for members or messages", () => {
      spec.given(group).when(send("m1", "constructor")).thenThrows("not_a_member");
      spec.given(group).when(edit("toString", "x")).thenThrows("not_found");
      spec.given(group).when(send("__proto__")).then([sent("__proto__", 1)]);
    });

    it("does nothing when a message id was already sent (a redelivered command)", () => {
      spec.given([...group, sent("m1", 1)]).when(send("m1")).thenNothingHappened();
      spec.given([...group, sent("m1", 1)]).when(send("m1", "u2", { content: "another" })).thenNothingHappened();
    });

    it("refuses a message without id", () => {
      spec.given(group).when(send("")).thenThrows("invalid");
    });

    it("accepts a reply only to a message of this conversation", () => {
      spec.given(group).when(send("m1", "u1", { replyToMessageId: "elsewhere" })).thenThrows("invalid");
      spec.given([...group, sent("m1", 1), deleted("m1", 1)]).when(send("m2", "u2", { replyToMessageId: "m1" })).then([
        sent("m2", 2, "u2", { replyToMessageId: "m1" }),
      ]);
    });

    it("delegates membership commands to the conversations rules", () => {
      spec.given(group).when(addMember("u4", "u2")).then([added("u4")]);
      spec.given(group).when(addMember("u4", "u9")).thenThrows("not_a_member");
      spec.given(group).when(addMember("u2")).thenNothingHappened();
    });
  });

  describe("when validating content", () => {
    const group = [created()];
    const max = MESSAGE_LIMITS.maxContentLength;

    it("accepts text of 1 to 10,000 characters, counted as code points", () => {
      spec.given(group).when(send("m1", "u1", { content: "x" })).then([sent("m1", 1, "u1", { content: "x" })]);
      spec.given(group).when(send("m1", "u1", { content: "x".repeat(max) })).then([sent("m1", 1, "u1", { content: "x".repeat(max) })]);
      spec.given(group).when(send("m1", "u1", { content: "😀".repeat(max) })).then([sent("m1", 1, "u1", { content: "😀".repeat(max) })]);
    });

    it("refuses blank or too long text", () => {
      spec.given(group).when(send("m1", "u1", { content: "" })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { content: " \n\t " })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { content: "x".repeat(max + 1) })).thenThrows("invalid");
    });

    it("refuses attachments on text messages", () => {
      spec.given(group).when(send("m1", "u1", { attachments: [image] })).thenThrows("invalid");
    });

    it("accepts media with an empty caption and 1 to 10 attachments", () => {
      const ten = Array.from({ length: MESSAGE_LIMITS.maxAttachments }, (_, i) => ({ ...image, attachmentId: `a${i}` }));
      spec.given(group).when(send("m1", "u1", { type: "file", content: "", attachments: ten })).then([
        sent("m1", 1, "u1", { type: "file", content: "", attachments: ten }),
      ]);
    });

    it("refuses media without attachment, with too many, with duplicates or broken ones, or with too long a caption", () => {
      const eleven = Array.from({ length: MESSAGE_LIMITS.maxAttachments + 1 }, (_, i) => ({ ...image, attachmentId: `a${i}` }));
      spec.given(group).when(send("m1", "u1", { type: "image", content: "cap", attachments: [] })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { type: "image", content: "", attachments: eleven })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { type: "image", content: "", attachments: [image, image] })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { type: "image", content: "", attachments: [{ ...image, url: "" }] })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { type: "image", content: "", attachments: [{ ...image, sizeBytes: -1 }] })).thenThrows("invalid");
      spec.given(group).when(send("m1", "u1", { type: "video", content: "x".repeat(max + 1), attachments: [image] })).thenThrows("invalid");
    });

    it("accepts up to 50 distinct mentions and 32 metadata entries, nothing more or malformed", () => {
      const many = Array.from({ length: MESSAGE_LIMITS.maxMentions }, (_, i) => `user-${i}`);
      const extras = { mentionedUserIds: many, metadata: { preview: "https://example.com" } };
      spec.given(group).when(send("m1", "u1", extras)).then([sent("m1", 1, "u1", extras)]);
      for (const mentionedUserIds of [[...many, "one-more"], ["u2", "u2"], [""]]) {
        spec.given(group).when(send("m1", "u1", { mentionedUserIds })).thenThrows("invalid");
      }
      const crowded = Object.fromEntries(Array.from({ length: MESSAGE_LIMITS.maxMetadataEntries + 1 }, (_, i) => [`k${i}`, "v"]));
      for (const metadata of [crowded, { "": "v" }, { k: "v".repeat(2_049) }]) {
        spec.given(group).when(send("m1", "u1", { metadata })).thenThrows("invalid");
      }
    });

    it("refuses system messages from clients", () => {
      spec.given(group).when(send("m1", "u1", { type: "system", content: "u2 joined" })).thenThrows("forbidden");
    });

    it("takes a system message from a backend, which is no member", () => {
      spec
        .given(group)
        .when(send("m1", "system:server-api", { type: "system", content: "maintenance at 5", fromServer: true }))
        .then([sent("m1", 1, "system:server-api", { type: "system", content: "maintenance at 5" })]);
      spec.given(group).when(send("m1", "system:server-api", { type: "system", content: "x", fromServer: true }, "w2")).thenThrows("not_found");
    });

    it("accepts emoji and shortcodes up to 64 characters, nothing blank, spaced or with |", () => {
      const history = [...group, sent("m1", 1)];
      spec.given(history).when(react("m1", "👨‍👩‍👧‍👦")).then([reacted("m1", 1, "u1", "👨‍👩‍👧‍👦")]);
      spec.given(history).when(react("m1", ":party-parrot:")).then([reacted("m1", 1, "u1", ":party-parrot:")]);
      spec.given(history).when(react("m1", "x".repeat(MESSAGE_LIMITS.maxEmojiLength))).then([
        reacted("m1", 1, "u1", "x".repeat(MESSAGE_LIMITS.maxEmojiLength)),
      ]);
      for (const emoji of ["", " ", "x".repeat(MESSAGE_LIMITS.maxEmojiLength + 1), ":a b:", "👍|u2", "\u0000"]) {
        spec.given(history).when(react("m1", emoji)).thenThrows("invalid");
      }
    });
  });

  describe("when the message exists", () => {
    const history = [created(), sent("m1", 1, "u2"), sent("m2", 2, "u1")];

    it("lets its sender edit it, revision by revision", () => {
      spec.given(history).when(edit("m1", "fixed", "u2")).then([edited("m1", 1, "fixed")]);
      spec.given([...history, edited("m1", 1, "fixed")]).when(edit("m1", "fixed again", "u2")).then([edited("m1", 1, "fixed again", 2)]);
    });

    it("does nothing when the content does not change", () => {
      spec.given(history).when(edit("m1", "hello m1", "u2")).thenNothingHappened();
      spec.given([...history, edited("m1", 1, "fixed")]).when(edit("m1", "fixed", "u2")).thenNothingHappened();
    });

    it("lets nobody else edit it, not even the owner", () => {
      spec.given(history).when(edit("m1", "hacked", "u1")).thenThrows("forbidden");
      spec.given(history).when(edit("m1", "hacked", "u3")).thenThrows("forbidden");
    });

    it("validates the new content like a sent one", () => {
      spec.given(history).when(edit("m1", "  ", "u2")).thenThrows("invalid");
      spec.given(history).when(edit("m1", "x".repeat(MESSAGE_LIMITS.maxContentLength + 1), "u2")).thenThrows("invalid");
      const media = [created(), sent("m1", 1, "u2", { type: "image", content: "cap", attachments: [image] })];
      spec.given(media).when(edit("m1", "", "u2")).then([edited("m1", 1, "")]);
    });

    it("lets its sender delete it", () => {
      spec.given(history).when(del("m1", "u2")).then([deleted("m1", 1)]);
    });

    it("lets the owner and admins delete others' messages (moderation)", () => {
      spec.given(history).when(del("m1", "u1")).then([deleted("m1", 1)]);
      spec.given(history).when(del("m2", "u3")).then([deleted("m2", 2)]);
    });

    it("lets plain members delete only their own", () => {
      spec.given(history).when(del("m2", "u2")).thenThrows("forbidden", "only its sender, the owner and admins may delete a message");
    });

    it("answers unknown message ids with not_found", () => {
      spec.given(history).when(edit("m9", "x", "u2")).thenThrows("not_found");
      spec.given(history).when(del("m9")).thenThrows("not_found");
      spec.given(history).when(react("m9", "👍")).thenThrows("not_found");
      spec.given(history).when(unreact("m9", "👍")).thenThrows("not_found");
    });

    it("takes one reaction per user per emoji", () => {
      spec.given(history).when(react("m1", "👍")).then([reacted("m1", 1, "u1", "👍")]);
      spec.given([...history, reacted("m1", 1, "u1", "👍")]).when(react("m1", "👍")).thenNothingHappened();
      spec.given([...history, reacted("m1", 1, "u1", "👍")]).when(react("m1", "🎉")).then([reacted("m1", 1, "u1", "🎉")]);
      spec.given([...history, reacted("m1", 1, "u1", "👍")]).when(react("m1", "👍", "u2")).then([reacted("m1", 1, "u2", "👍")]);
    });

    it("takes back one's own reaction, and does nothing for a reaction that is not there", () => {
      const withReaction = [...history, reacted("m1", 1, "u1", "👍")];
      spec.given(withReaction).when(unreact("m1", "👍")).then([unreacted("m1", 1, "u1", "👍")]);
      spec.given(withReaction).when(unreact("m1", "👍", "u2")).thenNothingHappened();
      spec.given(withReaction).when(unreact("m1", "🎉")).thenNothingHappened();
      spec.given([...withReaction, unreacted("m1", 1, "u1", "👍")]).when(unreact("m1", "👍")).thenNothingHappened();
      spec.given([...withReaction, unreacted("m1", 1, "u1", "👍")]).when(react("m1", "👍")).then([reacted("m1", 1, "u1", "👍")]);
    });
  });

  describe("when the message was deleted", () => {
    const history = [created(), sent("m1", 1, "u2"), reacted("m1", 1, "u1", "👍"), deleted("m1", 1)];

    it("refuses edits with conflict", () => {
      spec.given(history).when(edit("m1", "back", "u2")).thenThrows("conflict");
    });

    it("does nothing when deleted again, by anyone allowed to", () => {
      spec.given(history).when(del("m1", "u2")).thenNothingHappened();
      spec.given(history).when(del("m1", "u1")).thenNothingHappened();
    });

    it("still refuses deletion by someone who could not delete it", () => {
      spec.given([created(), sent("m1", 1, "u1"), deleted("m1", 1)]).when(del("m1", "u2")).thenThrows("forbidden");
    });

    it("refuses new reactions, and its old ones are gone", () => {
      spec.given(history).when(react("m1", "🎉")).thenThrows("conflict");
      spec.given(history).when(unreact("m1", "👍")).thenNothingHappened();
    });

    it("keeps its seq: the next message does not reuse it", () => {
      spec.given(history).when(send("m2")).then([sent("m2", 2)]);
    });
  });

  describe("when the conversation is direct", () => {
    const direct = [created([{ userId: "u1", role: "owner" }, { userId: "u2", role: "member" }], "direct"), sent("m1", 1, "u2")];

    it("lets only the sender delete: the creator moderates nothing, and is told so", () => {
      spec.given(direct).when(del("m1", "u1")).thenThrows("forbidden", "in a direct conversation only its sender may delete a message");
      spec.given(direct).when(del("m1", "u2")).then([deleted("m1", 1)]);
    });
  });

  describe("when the membership changes", () => {
    const group = [created()];

    it("lets a member added later send", () => {
      spec.given(group).when(send("m1", "u4")).thenThrows("not_a_member");
      spec.given([...group, added("u4")]).when(send("m1", "u4")).then([sent("m1", 1, "u4")]);
    });

    it("stops a removed member from sending, editing, reacting and reading", () => {
      const history = [...group, sent("m1", 1, "u2"), removed("u2")];
      spec.given(history).when(send("m2", "u2")).thenThrows("not_a_member");
      spec.given(history).when(edit("m1", "x", "u2")).thenThrows("not_a_member");
      spec.given(history).when(react("m1", "👍", "u2")).thenThrows("not_a_member");
      spec.given(history).when(markRead(1, "u2")).thenThrows("not_a_member");
    });

    it("keeps the messages, seq and cursors across membership changes", () => {
      const history = [...group, sent("m1", 1, "u2"), read("u2", 1), removed("u2"), added("u2"), sent("m2", 2, "u1")];
      spec.given(history).when(send("m3", "u2")).then([sent("m3", 3, "u2")]);
      spec.given(history).when(markRead(1, "u2")).thenNothingHappened();
    });

    it("moderation follows the current role", () => {
      const history = [...group, sent("m1", 1, "u2"), added("u4", "admin")];
      spec.given(history).when(del("m1", "u4")).then([deleted("m1", 1)]);
      spec.given([...history, removed("u3")]).when(del("m1", "u3")).thenThrows("not_a_member");
    });
  });

  describe("when reading", () => {
    const history = [created(), sent("m1", 1), sent("m2", 2, "u2"), sent("m3", 3, "u3")];

    it("moves the read cursor forward, and the delivery cursor along when it is behind", () => {
      spec.given(history).when(markRead(2, "u2", "m2")).then([read("u2", 2, "m2"), delivered("u2", 2)]);
      spec.given([...history, delivered("u2", 3)]).when(markRead(2, "u2")).then([read("u2", 2)]);
    });

    it("never moves the read cursor back: lower or equal is a no-op", () => {
      const afterRead = [...history, read("u2", 2), delivered("u2", 2)];
      spec.given(afterRead).when(markRead(2, "u2")).thenNothingHappened();
      spec.given(afterRead).when(markRead(1, "u2")).thenNothingHappened();
      spec.given(afterRead).when(markRead(3, "u2")).then([read("u2", 3), delivered("u2", 3)]);
      spec.given(history).when(markRead(0, "u2")).thenNothingHappened();
    });

    it("keeps cursors per user", () => {
      spec.given([...history, read("u2", 3), delivered("u2", 3)]).when(markRead(1, "u3")).then([read("u3", 1), delivered("u3", 1)]);
    });

    it("refuses a cursor past the last message, negative or fractional", () => {
      spec.given(history).when(markRead(4, "u2")).thenThrows("invalid");
      spec.given(history).when(markRead(-1, "u2")).thenThrows("invalid");
      spec.given(history).when(markRead(1.5, "u2")).thenThrows("invalid");
      spec.given([created()]).when(markRead(1)).thenThrows("invalid");
    });
  });

  describe("when a device acknowledges delivery", () => {
    const history = [created(), sent("m1", 1), sent("m2", 2, "u2"), sent("m3", 3, "u3")];

    it("moves the user's delivery cursor forward, naming the device", () => {
      spec.given(history).when(markDelivered(2, "u2", "phone")).then([delivered("u2", 2, "phone")]);
    });

    it("ignores another device reporting the same or less: delivered means reached one device", () => {
      const afterPhone = [...history, delivered("u2", 2, "phone")];
      spec.given(afterPhone).when(markDelivered(2, "u2", "laptop")).thenNothingHappened();
      spec.given(afterPhone).when(markDelivered(1, "u2", "laptop")).thenNothingHappened();
      spec.given(afterPhone).when(markDelivered(3, "u2", "laptop")).then([delivered("u2", 3, "laptop")]);
    });

    it("is not held back by the read cursor, nor moves it", () => {
      spec.given([...history, read("u2", 1), delivered("u2", 1)]).when(markDelivered(3, "u2")).then([delivered("u2", 3)]);
    });

    it("refuses a cursor past the last message", () => {
      spec.given(history).when(markDelivered(4, "u2")).thenThrows("invalid");
    });
  });

  describe("evolve", () => {
    const eventMeta = { eventId: "e", occurredAt: SENT_AT, correlationId: "c", causationId: null, actorId: "u1", workspaceId: "w1" };
    const withMeta = (event: DecidedConversationAggregateEvent): ConversationAggregateEvent =>
      ({ type: event.type, data: { ...event.data, meta: eventMeta } }) as ConversationAggregateEvent;

    it("ignores message events of a conversation it never saw created", () => {
      for (const event of [sent("m1", 1), edited("m1", 1, "x"), deleted("m1", 1), reacted("m1", 1, "u1", "👍"), read("u1", 1), delivered("u1", 1)]) {
        expect(evolve(initialState(), withMeta(event))).toEqual(initialState());
      }
    });

    it("changes nothing for events that do not apply, and never throws", () => {
      const { state } = spec.given([created(), sent("m1", 1), reacted("m1", 1, "u2", "👍"), read("u2", 1), delivered("u2", 1), sent("m2", 2), deleted("m2", 2)]);
      const snapshot = JSON.stringify(state);
      const noOps = [
        sent("m1", 7, "u3"), // a second MessageSent for a known id
        edited("m9", 9, "x"), // unknown message
        edited("m2", 2, "x"), // deleted message
        deleted("m9", 9),
        deleted("m2", 2), // already deleted
        reacted("m1", 1, "u2", "👍"), // already there
        reacted("m2", 2, "u2", "👍"), // deleted message
        reacted("m9", 9, "u2", "👍"),
        unreacted("m1", 1, "u3", "👍"), // not there
        unreacted("m9", 9, "u2", "👍"),
        read("u2", 1), // does not advance
        read("u2", 0),
        delivered("u2", 1),
        removed("u9"), // not a member
      ];
      for (const event of noOps) expect(evolve(state, withMeta(event))).toEqual(state);
      expect(() => evolve(state, { type: "SomethingNewer", data: { meta: eventMeta } } as unknown as ConversationAggregateEvent)).not.toThrow();
      expect(JSON.stringify(state)).toBe(snapshot);
    });

    it("keeps the conversation, the last seq, small message entries and the cursors", () => {
      const history = [
        created(),
        added("u4"),
        sent("m1", 1, "u2"),
        sent("m2", 2, "u1", { type: "image", content: "", attachments: [image] }),
        edited("m1", 1, "fixed"),
        reacted("m1", 1, "u3", "👍"),
        reacted("m1", 1, "u4", "👍"),
        unreacted("m1", 1, "u3", "👍"),
        reacted("m2", 2, "u3", "🎉"),
        deleted("m2", 2),
        read("u2", 2),
        delivered("u2", 2),
        delivered("u3", 1),
        removed("u4"),
      ];
      const { state } = spec.given(history, { workspaceId: "w7" });
      expect(state).toMatchObject({
        status: "active",
        conversationId: "c1",
        workspaceId: "w7",
        type: "group",
        createdBy: "u1",
        members: { u1: "owner", u2: "member", u3: "admin" },
        lastSeq: 2,
        readSeq: { u2: 2 },
        deliveredSeq: { u2: 2, u3: 1 },
      });
      expect(state.status === "active" && state.messages).toEqual([
        {
          m1: { seq: 1, senderId: "u2", revision: 1, contentHash: expect.any(Number), reactions: ["u4|👍"] },
          m2: { seq: 2, senderId: "u1", type: "image", deleted: true },
        },
      ]);
    });

    it("survives a JSON round trip, as the changelog stores it", () => {
      const { state } = spec.given([created(), sent("m1", 1), edited("m1", 1, "x"), reacted("m1", 1, "u2", "👍"), read("u2", 1), sent("m2", 2), deleted("m2", 2)]);
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    });

    it("does not mutate the state it folds", () => {
      const { state } = spec.given([created(), sent("m1", 1)]);
      const snapshot = JSON.stringify(state);
      evolve(state, withMeta(reacted("m1", 1, "u2", "👍")));
      evolve(state, withMeta(removed("u2")));
      evolve(state, withMeta(read("u2", 1)));
      expect(JSON.stringify(state)).toBe(snapshot);
    });
  });

  describe("property: seqs are gapless", () => {
    /** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
    const random = (seed: number) => () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };

    it.each([1, 2, 3, 42, 2024, 99_999])("for random valid sends from members (with noise in between), seed %i", (seed) => {
      const next = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      const members = ["u1", "u2", "u3"];
      let state = apply(messagesDecider.initialState(), send("-"), [created()]);
      const seqs: number[] = [];
      const ids: string[] = [];
      const steps = 50 + Math.floor(next() * 150);
      for (let step = 0; step < steps; step++) {
        const roll = next();
        let command: ConversationAggregateCommand;
        if (roll < 0.6 || ids.length === 0) {
          const id = `m${step}`;
          ids.push(id);
          command = send(id, pick(members), { content: "x".repeat(1 + Math.floor(next() * 50)) });
        } else if (roll < 0.7) command = send(pick(ids), pick(members)); // redelivery: no-op
        else if (roll < 0.75) command = send(`x${step}`, "u9"); // non-member: rejected
        else if (roll < 0.85) command = react(pick(ids), pick(["👍", "🎉"]), pick(members));
        else if (roll < 0.9) command = del(pick(ids), "u1");
        else command = markRead(Math.floor(next() * (seqs.length + 1)), pick(members));
        let events: readonly DecidedConversationAggregateEvent[] = [];
        try {
          events = messagesDecider.decide(command, state);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
        }
        for (const event of events) if (event.type === "MessageSent") seqs.push(event.data.seq);
        state = apply(state, command, events);
      }
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.length).toBe(new Set(ids).size);
      expect(state.status === "active" && state.lastSeq).toBe(seqs.length);
    });
  });
});

describe("when the conversation holds more messages than the decider remembers", () => {
  it("forgets the oldest, keeps the state small, and still numbers every message", () => {
    let state = messagesDecider.initialState();
    const meta = (i: number) => ({ commandId: `k${i}`, correlationId: "c", actorId: "u1", workspaceId: "w1", issuedAt: 1_700_000_000_000 + i, replyTo: null });
    const apply = (command: Parameters<typeof messagesDecider.decide>[0], i: number) => {
      for (const event of withEventMeta<ConversationAggregateEvent>(meta(i), messagesDecider.decide(command, state))) state = messagesDecider.evolve(state, event);
    };
    apply({ type: "CreateConversation", data: { meta: meta(0), conversationId: "c1", type: "group", title: "t", description: null, memberIds: ["u2"] } }, 0);
    const total = RECENT_MESSAGES + 50;
    for (let i = 1; i <= total; i += 1) {
      apply(
        {
          type: "SendMessage",
          data: { meta: meta(i), conversationId: "c1", messageId: `m${i}`, clientMsgId: null, type: "text", content: `hello ${i}`, attachments: [], replyToMessageId: null, mentionedUserIds: [], metadata: {}, fromServer: false },
        },
        i,
      );
    }
    if (state.status !== "active") throw new Error("not active");
    expect(state.lastSeq).toBe(total);
    const remembered = state.messages.flatMap((generation) => Object.keys(generation));
    expect(remembered.length).toBeGreaterThan(RECENT_MESSAGES - GENERATION);
    expect(remembered.length).toBeLessThanOrEqual(RECENT_MESSAGES);
    expect(remembered).not.toContain("m1");
    expect(remembered.at(-1)).toBe(`m${total}`);
    expect(JSON.stringify(state).length).toBeLessThan(300_000);
    // A reply to a forgotten message is accepted; an edit of one is refused as unknown.
    expect(() =>
      messagesDecider.decide(
        { type: "SendMessage", data: { meta: meta(total + 1), conversationId: "c1", messageId: "reply", clientMsgId: null, type: "text", content: "re", attachments: [], replyToMessageId: "m1", mentionedUserIds: [], metadata: {}, fromServer: false } },
        state,
      ),
    ).not.toThrow();
    expect(() =>
      messagesDecider.decide({ type: "EditMessage", data: { meta: meta(total + 2), conversationId: "c1", messageId: "m1", content: "late", mentionedUserIds: [] } }, state),
    ).toThrow(/most recent/);
  });
});
