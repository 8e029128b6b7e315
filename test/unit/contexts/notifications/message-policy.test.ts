import { describe, expect, it } from "vitest";
import { readOfDueField, readsDueField, readsOf } from "../../../../src/contexts/notifications/policy/conversation-reads.js";
import { badgeAfterRead, burstNotification, conversationReadNotification, previewOf, type BurstMessage, type Recipient } from "../../../../src/contexts/notifications/policy/message-policy.js";

const group = { id: "c1", workspaceId: "w1", type: "group", title: "Launch" };
const direct = { id: "d1", workspaceId: "w1", type: "direct", title: null };
const names: Record<string, string> = { alice: "Alice", bob: "Bob", carol: "Carol", dave: "Dave", erin: "Erin" };
const nameOf = (userId: string) => names[userId] ?? userId;

let seq = 0;
function message(senderId: string, preview: string, extra: Partial<BurstMessage> = {}): BurstMessage {
  seq += 1;
  return { messageId: `m${seq}`, seq, senderId, type: "text", preview, mentionedUserIds: [], sentAt: 1_000 + seq, ...extra };
}

const bob = (extra: Partial<Recipient> = {}): Recipient => ({ userId: "bob", readSeq: 0, viewing: false, muted: false, badge: 4, ...extra });

describe("the notification of a burst of messages", () => {
  it("summarises one message with its sender and text, per conversation, with the badge", () => {
    seq = 0;
    const burst = [message("alice", "ship it?")];
    expect(burstNotification(group, burst, bob(), nameOf)).toEqual({
      userId: "bob",
      notificationId: "message:c1:1:bob",
      category: "new_message",
      title: "Launch",
      body: "Alice: ship it?",
      data: { conversationId: "c1", messageId: "m1", seq: "1", count: "1", badge: "4" },
      conversationId: "c1",
      messageId: "m1",
      callId: null,
      huddleId: null,
      priority: "normal",
      collapseKey: "conversation:c1",
    });
  });

  it("summarises several messages as one, naming their senders, with the last message and the burst's first seq as its id", () => {
    seq = 10;
    const burst = [message("alice", "a"), message("carol", "b"), message("alice", "c")];
    const notification = burstNotification(group, burst, bob(), nameOf)!;
    expect(notification.body).toBe("3 new messages from Alice and Carol");
    expect(notification.notificationId).toBe("message:c1:11:bob");
    expect(notification.messageId).toBe("m13");
    expect(notification.data).toMatchObject({ seq: "13", count: "3" });
  });

  it("names three senders and counts the others", () => {
    seq = 20;
    const burst = ["alice", "carol", "dave", "erin", "zed"].map((sender) => message(sender, "hi"));
    expect(burstNotification(group, burst, bob(), nameOf)!.body).toBe("5 new messages from Alice, Carol, Dave and 2 others");
  });

  it("titles a direct conversation after its sender and shows the text alone", () => {
    seq = 30;
    const notification = burstNotification(direct, [message("alice", "lunch?")], bob(), nameOf)!;
    expect(notification).toMatchObject({ title: "Alice", body: "lunch?", collapseKey: "conversation:d1" });
  });

  it("is a mention, priority high, when a message of the burst mentions the recipient", () => {
    seq = 40;
    const burst = [message("alice", "hello"), message("carol", "@bob look", { mentionedUserIds: ["bob"] })];
    expect(burstNotification(group, burst, bob(), nameOf)).toMatchObject({ category: "mention", priority: "high" });
    expect(burstNotification(group, burst, bob({ userId: "dave" }), nameOf)).toMatchObject({ category: "new_message", priority: "normal" });
  });

  it("never notifies the sender of their own messages", () => {
    seq = 50;
    expect(burstNotification(group, [message("bob", "mine"), message("bob", "again")], bob(), nameOf)).toBeUndefined();
    const mixed = burstNotification(group, [message("bob", "mine"), message("alice", "theirs")], bob(), nameOf)!;
    expect(mixed).toMatchObject({ body: "Alice: theirs", data: { count: "1" }, notificationId: "message:c1:53:bob" });
  });

  it("notifies nobody viewing the conversation, nobody who muted it, and nothing already read or of the system", () => {
    seq = 60;
    const burst = [message("alice", "one"), message("alice", "two")];
    expect(burstNotification(group, burst, bob({ viewing: true }), nameOf)).toBeUndefined();
    expect(burstNotification(group, burst, bob({ muted: true }), nameOf)).toBeUndefined();
    expect(burstNotification(group, burst, bob({ readSeq: 62 }), nameOf)).toBeUndefined();
    expect(burstNotification(group, burst, bob({ readSeq: 61 }), nameOf)).toMatchObject({ body: "Alice: two" });
    expect(burstNotification(group, [], bob(), nameOf)).toBeUndefined();
    expect(burstNotification(group, [message("alice", "Carol joined", { type: "system" })], bob(), nameOf)).toBeUndefined();
  });

  it("gives the same id to the same burst asked again (a redelivery), whoever else is notified", () => {
    seq = 70;
    const burst = [message("alice", "x"), message("carol", "y")];
    expect(burstNotification(group, burst, bob(), nameOf)!.notificationId).toBe(burstNotification(group, burst, bob({ badge: 9 }), nameOf)!.notificationId);
  });
});

describe("the preview of a message", () => {
  it("keeps short text, cuts long text at 100 characters (not splitting an emoji), and names media", () => {
    expect(previewOf("text", "  hi  ")).toBe("hi");
    const long = "😀".repeat(150);
    const cut = previewOf("text", long);
    expect([...cut]).toHaveLength(100);
    expect(cut.endsWith("…")).toBe(true);
    expect(previewOf("image", "")).toBe("sent an image");
    expect(previewOf("file", "")).toBe("sent a file");
    expect(previewOf("audio", "")).toBe("sent an audio message");
    expect(previewOf("video", "look")).toBe("look");
  });
});

describe("the silent notification of a conversation read", () => {
  const read = { workspaceId: "w1", conversationId: "c1", userId: "bob", readSeq: 7 };

  it("tells the member's devices the cursor and the badge, shows nothing, and has an id fixed by the read", () => {
    expect(conversationReadNotification(read, 2)).toEqual({
      userId: "bob",
      notificationId: "read:c1:7:bob",
      category: "conversation_read",
      title: "",
      body: "",
      data: { conversationId: "c1", readSeq: "7", badge: "2" },
      conversationId: "c1",
      messageId: null,
      callId: null,
      huddleId: null,
      priority: "normal",
      collapseKey: "conversation-read:c1",
    });
    expect(conversationReadNotification(read, 5).notificationId).toBe(conversationReadNotification(read, 2).notificationId);
  });

  it("counts the read in the badge when the read positions do not have it yet, and never below zero", () => {
    expect(badgeAfterRead(10, 7, 7)).toBe(10);
    expect(badgeAfterRead(10, 7, 4)).toBe(7);
    expect(badgeAfterRead(2, 7, 0)).toBe(0);
    expect(badgeAfterRead(10, 4, 7)).toBe(10);
  });

  it("finds the reads among a batch's events, and keeps each due read in one field", () => {
    const meta = { eventId: "e1", occurredAt: 1, correlationId: "c", causationId: null, actorId: "bob", workspaceId: "w1" };
    const records = [
      { fullName: "quikchat.messages.MessageRead", value: { meta, conversationId: "c1", seq: 7, userId: "bob", messageId: null } },
      { fullName: "quikchat.messages.MessageSent", value: { meta, conversationId: "c1", seq: 8 } },
    ];
    expect(readsOf(records)).toEqual([read]);
    expect(readOfDueField(readsDueField(read), "7")).toEqual(read);
    expect(readOfDueField("not json", "7")).toBeUndefined();
    expect(readOfDueField(readsDueField(read), "x")).toBeUndefined();
  });
});
