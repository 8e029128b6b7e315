import { describe, expect, it } from "vitest";
import type {
  EventMeta,
  MessageDelivered,
  MessageDeleted,
  MessageEdited,
  MessageRead,
  MessageSent,
  ReactionAdded,
} from "../../../../src/platform/contract/generated/avro-types.js";
import {
  evolveMessage,
  groupReactions,
  historyChanges,
  historyDeltas,
  type HistoryChange,
} from "../../../../src/contexts/conversations/projections/history/history-changes.js";
import type { HistoryMessage } from "../../../../src/contexts/conversations/projections/history/history-port.js";

const meta = (occurredAt: number, actorId = "alice"): EventMeta => ({
  eventId: `e-${occurredAt}`,
  occurredAt,
  correlationId: "c",
  causationId: null,
  actorId,
  workspaceId: "w1",
});
const record = (shortName: string, value: unknown, offset = 7) => ({ fullName: `quikchat.messages.${shortName}`, value, offset });

const sent: MessageSent = {
  meta: meta(1_000, "alice"),
  conversationId: "c1",
  seq: 3,
  messageId: "m3",
  senderId: "alice",
  clientMsgId: "local-3",
  type: "text",
  content: "hi",
  attachments: [],
  replyToMessageId: "m1",
  mentionedUserIds: ["bob"],
  metadata: { client: "ios" },
};
const message: HistoryMessage = {
  id: "m3",
  conversationId: "c1",
  seq: 3,
  senderId: "alice",
  type: "text",
  content: "hi",
  attachments: [],
  clientMsgId: "local-3",
  replyToMessageId: "m1",
  sentAt: 1_000,
  editedAt: null,
  revision: 0,
  deletedAt: null,
  reactions: {},
};
const edited = (revision: number, content: string): MessageEdited => ({
  meta: meta(2_000 + revision, "alice"),
  conversationId: "c1",
  seq: 3,
  messageId: "m3",
  content,
  mentionedUserIds: [],
  revision,
});
const deleted: MessageDeleted = { meta: meta(5_000, "mod"), conversationId: "c1", seq: 3, messageId: "m3" };
const reaction = (userId: string, emoji: string): ReactionAdded => ({ meta: meta(3_000, userId), conversationId: "c1", seq: 3, messageId: "m3", userId, emoji });

const evolve = (changes: HistoryChange[], start?: HistoryMessage) => changes.reduce<HistoryMessage | undefined>(evolveMessage, start);
const changesOf = (...records: { fullName: string; value: unknown; offset: number }[]) => records.flatMap((r) => historyChanges(r));

describe("history changes", () => {
  it("turns a MessageSent into a new message sent at meta.occurredAt", () => {
    expect(historyChanges(record("MessageSent", sent, 42))).toEqual([{ kind: "message_sent", version: 42, message }]);
  });

  it("turns edits, deletes and reactions into changes of the message, versioned by offset", () => {
    expect(historyChanges(record("MessageEdited", edited(2, "hello"), 8))).toEqual([
      { kind: "message_edited", version: 8, conversationId: "c1", seq: 3, messageId: "m3", content: "hello", revision: 2, editedAt: 2_002 },
    ]);
    expect(historyChanges(record("MessageDeleted", deleted, 9))).toEqual([{ kind: "message_deleted", version: 9, conversationId: "c1", seq: 3, deletedAt: 5_000 }]);
    expect(historyChanges(record("ReactionRemoved", reaction("bob", "👍"), 10))).toEqual([
      { kind: "reaction_removed", version: 10, conversationId: "c1", seq: 3, userId: "bob", emoji: "👍" },
    ]);
  });

  it("changes nothing in history for receipts and unknown events", () => {
    const read: MessageRead = { meta: meta(1), conversationId: "c1", seq: 3, userId: "bob", messageId: "m3" };
    const delivered: MessageDelivered = { meta: meta(1), conversationId: "c1", seq: 3, userId: "bob", deviceId: null };
    expect(historyChanges(record("MessageRead", read))).toEqual([]);
    expect(historyChanges(record("MessageDelivered", delivered))).toEqual([]);
    expect(historyChanges({ fullName: "quikchat.conversations.MemberAdded", value: {}, offset: 1 })).toEqual([]);
  });
});

describe("evolving a stored message", () => {
  it("creates it once: a second send of the same seq changes nothing", () => {
    const again = { ...sent, content: "different" };
    expect(evolve(changesOf(record("MessageSent", sent), record("MessageSent", again)))).toEqual(message);
  });

  it("applies an edit only when its revision is newer", () => {
    const after = evolve(changesOf(record("MessageEdited", edited(2, "two")), record("MessageEdited", edited(1, "one")), record("MessageEdited", edited(2, "two again"))), message);
    expect(after).toEqual({ ...message, content: "two", revision: 2, editedAt: 2_002 });
  });

  it("drops changes to a message it does not hold", () => {
    expect(evolve(changesOf(record("MessageEdited", edited(1, "x")), record("ReactionAdded", reaction("bob", "👍"))))).toBeUndefined();
  });

  it("makes a deleted message a tombstone that later edits and reactions leave alone", () => {
    const withAttachment = { ...message, attachments: [{ attachmentId: "a", url: "u", mimeType: "image/png", sizeBytes: 1, fileName: null, width: null, height: null, durationMs: null, thumbnailUrl: null }] };
    const after = evolve(
      changesOf(record("ReactionAdded", reaction("bob", "👍")), record("MessageDeleted", deleted), record("MessageEdited", edited(9, "back")), record("ReactionAdded", reaction("carol", "🎉"))),
      withAttachment,
    );
    expect(after).toEqual({ ...message, content: "", attachments: [], reactions: {}, deletedAt: 5_000 });
  });

  it("keeps reactions per emoji in reaction order, once per user, dropping emptied emoji", () => {
    const removed = (userId: string, emoji: string) => record("ReactionRemoved", reaction(userId, emoji));
    const added = (userId: string, emoji: string) => record("ReactionAdded", reaction(userId, emoji));
    const after = evolve(changesOf(added("carol", "👍"), added("bob", "👍"), added("carol", "👍"), added("bob", "🎉"), removed("bob", "🎉"), removed("dave", "👍")), message);
    expect(after?.reactions).toEqual({ "👍": ["carol", "bob"] });
  });

  it("groups stored (emoji, user) pairs into the port's shape", () => {
    expect(groupReactions([{ emoji: "👍", userId: "a" }, { emoji: "🎉", userId: "b" }, { emoji: "👍", userId: "c" }])).toEqual({ "👍": ["a", "c"], "🎉": ["b"] });
  });
});

describe("history deltas", () => {
  it("announces a new message with the whole message", () => {
    expect(historyDeltas(record("MessageSent", sent))).toEqual([{ kind: "message_new", conversationId: "c1", seq: 3, message }]);
  });

  it("announces edits and deletes with who did them", () => {
    expect(historyDeltas(record("MessageEdited", edited(1, "new")))).toEqual([
      { kind: "message_edited", conversationId: "c1", seq: 3, messageId: "m3", content: "new", revision: 1, editedAt: 2_001, editedBy: "alice" },
    ]);
    expect(historyDeltas(record("MessageDeleted", deleted))).toEqual([
      { kind: "message_deleted", conversationId: "c1", seq: 3, messageId: "m3", deletedAt: 5_000, deletedBy: "mod" },
    ]);
  });

  it("announces reactions and receipts, which leave history as it is", () => {
    expect(historyDeltas(record("ReactionAdded", reaction("bob", "👍")))).toEqual([
      { kind: "reaction_added", conversationId: "c1", seq: 3, messageId: "m3", userId: "bob", emoji: "👍" },
    ]);
    const read: MessageRead = { meta: meta(1), conversationId: "c1", seq: 3, userId: "bob", messageId: null };
    const delivered: MessageDelivered = { meta: meta(1), conversationId: "c1", seq: 2, userId: "bob", deviceId: "d1" };
    expect(historyDeltas(record("MessageRead", read))).toEqual([{ kind: "read_receipt", conversationId: "c1", seq: 3, userId: "bob" }]);
    expect(historyDeltas(record("MessageDelivered", delivered))).toEqual([{ kind: "delivery_receipt", conversationId: "c1", seq: 2, userId: "bob" }]);
  });

  it("announces nothing for events of other types", () => {
    expect(historyDeltas({ fullName: "quikchat.messages.SomethingNew", value: {}, offset: 1 })).toEqual([]);
  });
});
