import { createHash } from "node:crypto";
import type { NotificationCategory, NotificationRequested } from "../../../platform/contract/generated/avro-types.js";
import type { Mail } from "../../../platform/notifications/mail-sender.js";

/** One notification waiting in a user's digest: what the mail lists of it, and how to tell whether it was read since. */
export interface DigestItem {
  readonly notificationId: string;
  readonly category: NotificationCategory;
  readonly title: string;
  readonly body: string;
  /** The conversation it is about, if any (calls have none). */
  readonly conversationId: string | null;
  /** The last message's seq it covers (the policy's `data.seq`): read once the user's read position reaches it. */
  readonly seq: number | null;
  /** When it was requested (epoch milliseconds). */
  readonly requestedAt: number;
  /** The request's workspace and correlation, carried into the commands that record the mail. */
  readonly workspaceId: string;
  readonly correlationId: string;
}

/** The digest item of a requested notification. */
export function digestItemOf(request: NotificationRequested): DigestItem {
  const seq = Number(request.data.seq);
  return {
    notificationId: request.notificationId,
    category: request.category,
    title: request.title,
    body: request.body,
    conversationId: request.conversationId,
    seq: request.data.seq !== undefined && Number.isSafeInteger(seq) ? seq : null,
    requestedAt: request.meta.occurredAt,
    workspaceId: request.meta.workspaceId,
    correlationId: request.meta.correlationId,
  };
}

/**
 * The items still worth mailing: those about a conversation the user has not read up to the
 * item's message since (`readSeqOf`: the user's read position in a conversation), and every item
 * with nothing to read (a missed call). Oldest first.
 */
export function unreadItems(items: readonly DigestItem[], readSeqOf: (conversationId: string) => number): DigestItem[] {
  return items.filter((item) => item.conversationId === null || item.seq === null || readSeqOf(item.conversationId) < item.seq).sort((a, b) => a.requestedAt - b.requestedAt || a.notificationId.localeCompare(b.notificationId));
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe to place in HTML, as content or as an attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/** A header value on one line: what users wrote may hold line breaks, which would end the header. */
const oneLine = (text: string) => text.replace(/[\r\n\t]+/g, " ").trim();

/**
 * The `Message-ID` of the digest covering `notificationIds` for `userId`: the same ids give the
 * same Message-ID, so a digest sent again after a crash (between the relay's answer and the
 * notifier's record) is recognisably the same mail.
 */
export function digestMessageId(userId: string, notificationIds: readonly string[], domain: string): string {
  const hash = createHash("sha256").update(userId).update("\u0000").update([...notificationIds].sort().join("\u0000")).digest("hex").slice(0, 32);
  return `<digest-${hash}@${domain}>`;
}

/**
 * The digest mail of what a user missed (pure): the subject counts the notifications and names
 * the first one's title; the text and HTML bodies list every one, oldest first, with its title and
 * summary. What users wrote (titles, previews) is escaped in the HTML and kept on one line in the
 * subject.
 */
export function composeDigest(o: { readonly to: string; readonly userId: string; readonly items: readonly DigestItem[]; readonly domain: string }): Mail {
  const { items } = o;
  const first = items[0];
  if (first === undefined) throw new Error("a digest lists at least one notification");
  const others = items.length - 1;
  const subject = oneLine(others === 0 ? `You missed a notification: ${first.title}` : `You missed ${items.length} notifications: ${first.title} and ${others} more`);
  const intro = items.length === 1 ? "While you were away, you missed this:" : `While you were away, you missed these ${items.length} notifications:`;
  const text = [intro, "", ...items.map((item) => `- ${oneLine(item.title)}: ${item.body}`), "", "Open QuikChat to read and reply."].join("\n");
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif">',
    `<p>${escapeHtml(intro)}</p>`,
    "<ul>",
    ...items.map((item) => `<li><strong>${escapeHtml(item.title)}</strong>: ${escapeHtml(item.body)}</li>`),
    "</ul>",
    "<p>Open QuikChat to read and reply.</p>",
    "</body></html>",
  ].join("\n");
  return {
    to: o.to,
    subject,
    text,
    html,
    messageId: digestMessageId(o.userId, items.map((item) => item.notificationId), o.domain),
  };
}
