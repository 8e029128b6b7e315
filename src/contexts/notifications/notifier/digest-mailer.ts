import { randomUUID } from "node:crypto";
import type { MailSender } from "../../../platform/notifications/mail-sender.js";
import type { OutgoingRecord } from "../../../infra/kafka/record-producer.js";
import { MAIL_TARGET, type DigestQueue } from "./digest-queue.js";
import { composeDigest, unreadItems, type DigestItem } from "./digest-template.js";
import { NotifierClosing, outcomeCommand, withRetries, type NotifierDeps } from "./notifier.js";
import { outcomeOf, type SendOutcome } from "./send-outcome.js";

/** Users whose digests one round mails, at most. */
const ROUND_SIZE = 50;

/** What the digest mailer works with, besides the notifier's own. */
export interface DigestDeps extends Pick<NotifierDeps, "topicPrefix" | "ledger" | "budget" | "metrics" | "logger" | "produce" | "wait" | "closing" | "now"> {
  readonly mail: MailSender;
  readonly queue: DigestQueue;
  /** How long a user's notifications wait, unread, before their digest (`EMAIL_DELAY_MS`). */
  readonly delayMs: number;
  /** The domain of the digests' Message-IDs (the sender's). */
  readonly domain: string;
  /** The address the user's mail goes to, null for none. */
  addressOf(userId: string): Promise<string | null>;
  /** How far the user has read the conversation (its last seq read; 0 for nothing). */
  readSeq(conversationId: string, userId: string): Promise<number>;
}

/**
 * One round of the digest mailer: each user whose digest is due (and whom no other notifier is
 * mailing) gets one mail listing the pending notifications they have not read since (a missed call
 * always counts as unread), and each of them is recorded on `quikapp.notifications.commands`
 * (`RecordDispatch` channel email, or `RecordFailure` with the reason: the relay's refusal, the
 * retries spent, `no_email_address`). Items read before the delay are dropped unmailed and
 * unrecorded: the user saw them.
 *
 * Exactly once, across restarts: the outcome goes to the notifier's ledger (one entry per
 * notification) as soon as the relay answered, then the records are produced, then the items leave
 * the queue; a notifier that stops in between finds the items again and records from the ledger
 * without mailing again. Only a crash between the relay's answer and the ledger's write mails the
 * digest again, with the same Message-ID.
 */
export async function mailDueDigests(deps: DigestDeps, owner: string): Promise<void> {
  const lease = deps.budget.maxAttempts * deps.budget.retryMaxMs + 60_000;
  for (const userId of await deps.queue.dueUsers(deps.now(), ROUND_SIZE)) {
    if (deps.closing()) return;
    if (!(await deps.queue.claim(userId, owner, lease))) continue;
    try {
      await mailDigest(deps, userId);
    } finally {
      await deps.queue.release(userId, owner);
    }
  }
}

async function mailDigest(deps: DigestDeps, userId: string): Promise<void> {
  const items = await deps.queue.pending(userId);
  const reads = new Map<string, number>();
  for (const conversationId of new Set(items.flatMap((item) => item.conversationId ?? []))) reads.set(conversationId, await deps.readSeq(conversationId, userId));
  const unread = unreadItems(items, (conversationId) => reads.get(conversationId) ?? 0);
  const outcomes = new Map<string, SendOutcome>();
  for (const item of unread) {
    const known = await deps.ledger.outcome(userId, item.notificationId, MAIL_TARGET);
    if (known !== undefined) outcomes.set(item.notificationId, known);
  }
  const toMail = unread.filter((item) => !outcomes.has(item.notificationId));
  if (toMail.length > 0) {
    const outcome = await mailOnce(deps, userId, toMail);
    for (const item of toMail) {
      await deps.ledger.remember(userId, item.notificationId, MAIL_TARGET, outcome);
      outcomes.set(item.notificationId, outcome);
    }
  }
  const records: OutgoingRecord[] = unread.map((item) => outcomeCommand(deps, { userId, ...item }, "email", null, outcomes.get(item.notificationId)!));
  if (records.length > 0) await deps.produce(records);
  await deps.queue.settle(userId, items.map((item) => item.notificationId), deps.now() + deps.delayMs);
}

/** Mails one digest of `items`, with retries; its outcome, counted. */
async function mailOnce(deps: DigestDeps, userId: string, items: readonly DigestItem[]): Promise<SendOutcome> {
  const provider = deps.mail.provider;
  const to = await deps.addressOf(userId);
  if (to === null) {
    deps.metrics.failed.inc({ provider, reason: "refused" });
    return { kind: "failed", provider, failure: "refused", reason: "no_email_address", permanent: true };
  }
  const mail = composeDigest({ to, userId, items, domain: deps.domain });
  const log = deps.logger.child({ userId, provider, notifications: items.length });
  deps.metrics.latency.observe({ provider }, Math.max(0, deps.now() - items[0]!.requestedAt) / 1000);
  const { result } = await withRetries(deps, provider, log, () => deps.mail.send(mail));
  const outcome = outcomeOf(result, provider, "email_digest", to);
  if (outcome.kind === "sent") deps.metrics.sent.inc({ provider, type: "email_digest" });
  else deps.metrics.failed.inc({ provider, reason: outcome.failure });
  log.info({ outcome: outcome.kind }, "digest mailed");
  return outcome;
}

/** Mails due digests every `everyMs` until `closing()`; a round that fails (Redis, MySQL, Kafka) is logged and the next one tries again. */
export async function runDigestMailer(deps: DigestDeps, everyMs: number): Promise<void> {
  const owner = randomUUID();
  while (!deps.closing()) {
    try {
      await mailDueDigests(deps, owner);
    } catch (error) {
      if (error instanceof NotifierClosing || deps.closing()) return;
      deps.logger.warn({ err: error }, "could not mail due digests; trying again");
    }
    await deps.wait(everyMs);
  }
}
