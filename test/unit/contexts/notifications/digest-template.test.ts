import { describe, expect, it } from "vitest";
import { composeDigest, digestItemOf, digestMessageId, escapeHtml, unreadItems, type DigestItem } from "../../../../src/contexts/notifications/notifier/digest-template.js";
import type { NotificationRequested } from "../../../../src/platform/contract/generated/avro-types.js";

const item = (notificationId: string, fields: Partial<DigestItem> = {}): DigestItem => ({
  notificationId,
  category: "new_message",
  title: "Alice",
  body: `lunch ${notificationId}?`,
  conversationId: "c1",
  seq: 1,
  requestedAt: 1_000,
  workspaceId: "w1",
  correlationId: "corr",
  ...fields,
});

describe("the digest of what a user missed", () => {
  it("takes from a requested notification its text, conversation, the seq of its last message and its origin", () => {
    const request: NotificationRequested = {
      meta: { eventId: "e1", occurredAt: 1_700_000_000_000, correlationId: "corr", causationId: null, actorId: "system:notify-policy", workspaceId: "w1" },
      userId: "bob",
      notificationId: "n1",
      category: "mention",
      title: "Team",
      body: "Alice: @bob lunch?",
      data: { seq: "7", count: "1" },
      conversationId: "c1",
      messageId: "m7",
      callId: null,
      huddleId: null,
      priority: "high",
      collapseKey: null,
    };
    expect(digestItemOf(request)).toEqual({ notificationId: "n1", category: "mention", title: "Team", body: "Alice: @bob lunch?", conversationId: "c1", seq: 7, requestedAt: 1_700_000_000_000, workspaceId: "w1", correlationId: "corr" });
    expect(digestItemOf({ ...request, data: {} }).seq).toBeNull();
  });

  it("keeps what the user has not read since, oldest first, and always a missed call", () => {
    const items = [item("late", { seq: 9, requestedAt: 3_000 }), item("read", { seq: 4, requestedAt: 1_000 }), item("call", { conversationId: null, seq: null, category: "missed_call", requestedAt: 2_000 }), item("other", { conversationId: "c2", seq: 2, requestedAt: 500 })];
    const reads: Record<string, number> = { c1: 5 };
    expect(unreadItems(items, (conversationId) => reads[conversationId] ?? 0).map((one) => one.notificationId)).toEqual(["other", "call", "late"]);
  });

  it("lists every notification in the subject's count and in both bodies, the HTML escaped", () => {
    const mail = composeDigest({ to: "bob@example.com", userId: "bob", domain: "quikchat.example", items: [item("n1", { title: "Alice <3", body: "<script>alert('x')</script> & more" }), item("n2", { title: "Team", body: "Carol: see you" })] });
    expect(mail.to).toBe("bob@example.com");
    expect(mail.subject).toBe("You missed 2 notifications: Alice <3 and 1 more");
    expect(mail.text).toContain("- Alice <3: <script>alert('x')</script> & more");
    expect(mail.text).toContain("- Team: Carol: see you");
    expect(mail.html).toContain("<strong>Alice &lt;3</strong>: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more");
    expect(mail.html).toContain("<strong>Team</strong>: Carol: see you");
    expect(mail.html).not.toContain("<script>");
    expect(mail.messageId).toMatch(/^<digest-[0-9a-f]{32}@quikchat\.example>$/);
  });

  it("keeps a subject on one line whatever the title holds", () => {
    const mail = composeDigest({ to: "bob@example.com", userId: "bob", domain: "d", items: [item("n1", { title: "Alice\r\nBcc: eve@example.com" })] });
    expect(mail.subject).toBe("You missed a notification: Alice Bcc: eve@example.com");
  });

  it("gives the same Message-ID to a digest of the same notifications, whatever their order, and another to a different one", () => {
    expect(digestMessageId("bob", ["n1", "n2"], "d")).toBe(digestMessageId("bob", ["n2", "n1"], "d"));
    expect(digestMessageId("bob", ["n1", "n2"], "d")).not.toBe(digestMessageId("bob", ["n1"], "d"));
    expect(digestMessageId("bob", ["n1"], "d")).not.toBe(digestMessageId("carol", ["n1"], "d"));
  });

  it("refuses to compose an empty digest", () => {
    expect(() => composeDigest({ to: "bob@example.com", userId: "bob", domain: "d", items: [] })).toThrow(/at least one/);
    expect(escapeHtml(`"a" & 'b'`)).toBe("&quot;a&quot; &amp; &#39;b&#39;");
  });
});
