import type { CommandMeta, NotificationChannel, NotificationRequested, RecordDispatch, RecordFailure, UnregisterDevice } from "../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../platform/contract/event-records.js";
import { TOPICS } from "../../../platform/contract/topics.js";
import { NOTIFIER_ACTOR } from "../../../platform/domain/system-actors.js";
import type { MailResult } from "../../../platform/notifications/mail-sender.js";
import type { PushResult, PushSender } from "../../../platform/notifications/push-sender.js";
import type { ConsumedRecord } from "../../../infra/kafka/record-consumer.js";
import type { OutgoingRecord } from "../../../infra/kafka/record-producer.js";
import type { Logger } from "../../../infra/log/logger.js";
import type { NotifierMetrics } from "../metrics.js";
import { isMailable } from "../notification-categories.js";
import { MAIL_TARGET, type DigestQueue } from "./digest-queue.js";
import { digestItemOf } from "./digest-template.js";
import type { NotifierLedger } from "./notifier-ledger.js";
import { planPush, type PlannedPush } from "./push-plan.js";
import type { PushTargets } from "./push-targets.js";
import { outcomeOf, retryDelay, type RetryBudget, type SendOutcome } from "./send-outcome.js";

/** What the notifier works with; the composition root (`notifier-role.ts`) makes them. */
export interface NotifierDeps {
  readonly topicPrefix: string;
  /** The push sender of each provider configured; a device of a provider absent here is recorded `provider_not_configured`. */
  readonly senders: Partial<Record<"apns" | "fcm", PushSender>>;
  readonly targets: PushTargets;
  readonly ledger: NotifierLedger;
  /** This notifier's name in the ledger's claims, unique per process. */
  readonly owner: string;
  readonly budget: RetryBudget;
  readonly metrics: NotifierMetrics;
  readonly logger: Logger;
  /** Appends records and resolves once Kafka acknowledged every one (acks=all). */
  produce(records: readonly OutgoingRecord[]): Promise<void>;
  /** Waits `ms`, or less when the notifier is closing (then `closing()` is true). */
  wait(ms: number): Promise<void>;
  closing(): boolean;
  now(): number;
  /** Mail for users without a push-capable device; absent when email is not configured. */
  readonly digests?: {
    readonly queue: DigestQueue;
    readonly delayMs: number;
    /** The address the user's mail goes to, null for none. */
    addressOf(userId: string): Promise<string | null>;
  };
}

/** The notifier is closing: the batch in hand is left uncommitted, for the next notifier. */
export class NotifierClosing extends Error {
  constructor() {
    super("the notifier is closing");
    this.name = "NotifierClosing";
  }
}

/**
 * Handles one batch of `quikapp.notifications.events`: every `NotificationRequested` is sent to
 * each of the user's push-capable devices, and what became of each push is recorded
 * (`RecordDispatch` / `RecordFailure`, a dead token's `UnregisterDevice`, a dead letter for a push
 * given up on). Resolves once every record is acknowledged by Kafka: only then may the batch's
 * offsets be committed.
 *
 * Exactly once per device, across restarts:
 * - the consumer commits a batch's offsets only after this resolves, so a crash redelivers what
 *   was not recorded (nothing is skipped);
 * - before sending, the notifier consults its ledger (`NotifierLedger`), written as soon as the
 *   provider answered: a push already made is recorded again (the aggregate takes the first report
 *   of a device and ignores the others) but not sent again;
 * - a push is sent only under its claim in the ledger, so two notifiers holding the same batch
 *   during a rebalance do not both send it: the second waits for the first's outcome;
 * - what remains is a crash between the provider's answer and the ledger's write (a millisecond):
 *   once the dead notifier's claim lapses (at most 15 s), that push goes again with the same `apns-id` and collapse id, so the device replaces the first
 *   rather than showing it twice.
 *
 * A user's notifications go in order; users go concurrently within the batch.
 */
export async function notifyBatch(deps: NotifierDeps, records: readonly ConsumedRecord[]): Promise<void> {
  const byUser = new Map<string, { record: ConsumedRecord; request: NotificationRequested }[]>();
  for (const record of records) {
    const event = eventOf(record, "notifications");
    if (event?.type !== "NotificationRequested") continue;
    const queue = byUser.get(event.data.userId) ?? [];
    queue.push({ record, request: event.data });
    byUser.set(event.data.userId, queue);
  }
  const produced: OutgoingRecord[] = [];
  await Promise.all(
    [...byUser.values()].map(async (queue) => {
      for (const { record, request } of queue) produced.push(...(await notify(deps, record, request)));
    }),
  );
  if (produced.length > 0) await deps.produce(produced);
}

/** The records that state what became of one notification on each of its user's devices. */
async function notify(deps: NotifierDeps, record: ConsumedRecord, request: NotificationRequested): Promise<OutgoingRecord[]> {
  const devices = await deps.targets.devicesOf(request.userId);
  const pushes = devices.flatMap((device) => planPush(request, device) ?? []);
  if (pushes.length === 0) return holdForDigest(deps, request);
  const outcomes = await Promise.all(pushes.map(async (push) => ({ push, outcome: await pushOnce(deps, request, push) })));
  return outcomes.flatMap(({ push, outcome }) => recordsOf(deps, record, request, push, outcome));
}

/**
 * A notification for a user without a push-capable device joins the user's digest (when email is
 * configured and the user has an address), which the digest mailer sends after the delay; one
 * already mailed (the ledger knows) is recorded again instead. A silent one (it only tidies what
 * devices show) and an incoming call (its missed call is mailed) are dropped.
 */
async function holdForDigest(deps: NotifierDeps, request: NotificationRequested): Promise<OutgoingRecord[]> {
  const { userId, notificationId } = request;
  const digests = deps.digests;
  if (!isMailable(request.category)) {
    deps.logger.debug({ userId, notificationId, category: request.category }, "no push-capable device, and not a notification to mail");
    return [];
  }
  if (digests === undefined || (await digests.addressOf(userId)) === null) {
    deps.logger.debug({ userId, notificationId }, "no push-capable device and no mail");
    return [];
  }
  const item = digestItemOf(request);
  const known = await deps.ledger.outcome(userId, notificationId, MAIL_TARGET);
  if (known !== undefined) return [outcomeCommand(deps, { userId, ...item }, "email", null, known)];
  await digests.queue.hold(userId, item, deps.now() + digests.delayMs);
  return [];
}

/**
 * How long a claim on a push covers one attempt: more than a provider request may take (its
 * timeout is 10 s), so a live notifier's claim never lapses mid-request.
 */
const ATTEMPT_LEASE_MS = 15_000;
/** The longest a notifier waits between looks at a push another notifier holds. */
const HELD_POLL_MS = 250;

/** Another notifier took over a push whose claim had lapsed (this one stalled); its outcome is awaited instead. */
class ClaimLost extends Error {}

/**
 * The push's outcome: the ledger's when it was made before (or by another notifier meanwhile),
 * else the provider's after retries, remembered. Sends only while holding the push's claim.
 */
async function pushOnce(deps: NotifierDeps, request: NotificationRequested, push: PlannedPush): Promise<SendOutcome> {
  const { userId, notificationId } = request;
  const hold = async (leaseMs: number) => {
    const claim = await deps.ledger.claim(userId, notificationId, push.deviceId, deps.owner, leaseMs);
    if (claim.kind !== "claimed") throw new ClaimLost();
  };
  for (;;) {
    const claim = await deps.ledger.claim(userId, notificationId, push.deviceId, deps.owner, ATTEMPT_LEASE_MS);
    if (claim.kind === "done") return claim.outcome;
    if (claim.kind === "held") {
      await deps.wait(Math.min(HELD_POLL_MS, claim.remainingMs));
      if (deps.closing()) throw new NotifierClosing();
      continue;
    }
    let outcome: SendOutcome;
    try {
      outcome = await send(deps, request, push, hold);
    } catch (error) {
      if (error instanceof ClaimLost) continue;
      throw error;
    }
    await deps.ledger.remember(userId, notificationId, push.deviceId, outcome);
    if (outcome.kind === "sent") deps.metrics.sent.inc({ provider: outcome.provider, type: outcome.pushKind });
    else deps.metrics.failed.inc({ provider: outcome.provider, reason: outcome.failure });
    return outcome;
  }
}

/**
 * Sends with bounded retries: `retry_later` waits (backoff, or the provider's Retry-After) and tries
 * again. The claim is renewed (`hold`) before each attempt and to cover each wait; `hold` throws
 * when another notifier has the push now.
 */
async function send(deps: NotifierDeps, request: NotificationRequested, push: PlannedPush, hold: (leaseMs: number) => Promise<void>): Promise<SendOutcome> {
  const sender = deps.senders[push.channel];
  if (sender === undefined) {
    return { kind: "failed", provider: push.channel, failure: "provider_not_configured", reason: "provider_not_configured", permanent: false };
  }
  const log = deps.logger.child({ userId: request.userId, notificationId: request.notificationId, deviceId: push.deviceId, provider: sender.provider });
  deps.metrics.latency.observe({ provider: sender.provider }, Math.max(0, deps.now() - request.meta.occurredAt) / 1000);
  const waits = {
    ...deps,
    wait: async (ms: number) => {
      await hold(ms + ATTEMPT_LEASE_MS);
      await deps.wait(ms);
    },
  };
  const { result, gaveUp } = await withRetries(waits, sender.provider, log, async () => {
    await hold(ATTEMPT_LEASE_MS);
    return sender.send(push.message);
  });
  return outcomeOf(result, sender.provider, push.message.kind, push.message.token, gaveUp ? null : push.tokenAt);
}

/**
 * Makes `attempt` until the provider answers something else than `retry_later` or the budget is
 * spent, waiting between attempts (backoff, or the provider's Retry-After); the last answer, and
 * whether it is a `retry_later` given up on. Throws {@link NotifierClosing} when the notifier closes
 * while waiting.
 */
export async function withRetries<R extends PushResult | MailResult>(
  deps: Pick<NotifierDeps, "budget" | "metrics" | "wait" | "closing">,
  provider: string,
  log: Logger,
  attempt: () => Promise<R>,
): Promise<{ readonly result: R; readonly gaveUp: boolean }> {
  for (let made = 1; ; made += 1) {
    const result = await attempt();
    if (result.outcome !== "retry_later") return { result, gaveUp: false };
    const delay = retryDelay(made, result.retryAfterMs, deps.budget);
    if (delay === undefined) {
      log.warn({ attempts: made, reason: result.reason }, "send given up after its retries");
      return { result, gaveUp: true };
    }
    log.info({ attempt: made, reason: result.reason, delayMs: delay }, "provider answered later; retrying");
    await deps.wait(delay);
    if (deps.closing()) throw new NotifierClosing();
    deps.metrics.retries.inc({ provider });
  }
}

/** The command metadata of the notifier's reports about one notification (ids derived from it, the target and `what`, so a report made again is a duplicate). */
function reportMeta(deps: Pick<NotifierDeps, "now">, request: NotificationOrigin, target: string, what: string): CommandMeta {
  return {
    commandId: `notifier:${request.notificationId}:${target}:${what}`,
    correlationId: request.correlationId,
    actorId: NOTIFIER_ACTOR,
    workspaceId: request.workspaceId,
    issuedAt: deps.now(),
    replyTo: null,
  };
}

/** What the notifier's reports about a notification carry of its request. */
export interface NotificationOrigin {
  readonly userId: string;
  readonly notificationId: string;
  readonly workspaceId: string;
  readonly correlationId: string;
}

/**
 * The command that records a notification's outcome on one target: `RecordDispatch` or
 * `RecordFailure`, on a device (`deviceId`) or by mail (`channel` email, no device).
 */
export function outcomeCommand(deps: Pick<NotifierDeps, "now" | "topicPrefix">, request: NotificationOrigin, channel: NotificationChannel, deviceId: string | null, outcome: SendOutcome): OutgoingRecord {
  const { userId, notificationId } = request;
  const topic = deps.topicPrefix + TOPICS.notifications.commands;
  const target = deviceId ?? channel;
  if (outcome.kind === "sent") {
    return {
      topic,
      key: userId,
      fullName: "quikchat.notifications.RecordDispatch",
      value: { meta: reportMeta(deps, request, target, "dispatch"), userId, notificationId, channel, provider: outcome.provider, deviceId, providerMessageId: outcome.providerMessageId } satisfies RecordDispatch,
    };
  }
  return {
    topic,
    key: userId,
    fullName: "quikchat.notifications.RecordFailure",
    value: { meta: reportMeta(deps, request, target, "failure"), userId, notificationId, channel, provider: outcome.provider, deviceId, reason: outcome.reason, permanent: outcome.permanent } satisfies RecordFailure,
  };
}

/** The commands (and dead letter) that record one push's outcome. */
function recordsOf(deps: NotifierDeps, record: ConsumedRecord, request: NotificationRequested, push: PlannedPush, outcome: SendOutcome): OutgoingRecord[] {
  const { userId } = request;
  const origin = { userId, notificationId: request.notificationId, workspaceId: request.meta.workspaceId, correlationId: request.meta.correlationId };
  const records = [outcomeCommand(deps, origin, push.channel, push.deviceId, outcome)];
  if (outcome.kind === "sent") return records;
  const meta = (what: string) => reportMeta(deps, origin, push.deviceId, what);
  if (outcome.deadToken !== undefined) {
    records.push({
      topic: deps.topicPrefix + TOPICS.devices.commands,
      key: userId,
      fullName: "quikchat.devices.UnregisterDevice",
      // The token refused: the device goes only while that is still its token (a new one registered meanwhile stays).
      value: { meta: meta("unregister"), userId, deviceId: push.deviceId, reason: "token_invalid", failedToken: outcome.deadToken } satisfies UnregisterDevice,
    });
  } else if (outcome.failure !== "provider_not_configured") {
    // Given up on (an outage outlasting the retries, refused credentials, a refused push): the
    // request goes to the dead letters with why, for an operator to look at and send again.
    records.push({
      topic: deps.topicPrefix + TOPICS.notifications.dlq,
      key: userId,
      fullName: record.fullName,
      value: record.value,
      headers: {
        error: `${outcome.provider}: ${outcome.reason}`,
        error_code: "undeliverable",
        failure: outcome.failure,
        device_id: push.deviceId,
        source_topic: record.topic,
        source_partition: String(record.partition),
        source_offset: String(record.offset),
      },
    });
  }
  return records;
}
