import type { CommandMeta, NotificationRequested, RecordDispatch, RecordFailure, UnregisterDevice } from "../../../platform/contract/generated/avro-types.js";
import { eventOf } from "../../../platform/contract/event-records.js";
import { TOPICS } from "../../../platform/contract/topics.js";
import { NOTIFIER_ACTOR } from "../../../platform/domain/system-actors.js";
import type { PushSender } from "../../../platform/notifications/push-sender.js";
import type { ConsumedRecord } from "../../../infra/kafka/record-consumer.js";
import type { OutgoingRecord } from "../../../infra/kafka/record-producer.js";
import type { Logger } from "../../../infra/log/logger.js";
import type { NotifierMetrics } from "../metrics.js";
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
  readonly budget: RetryBudget;
  readonly metrics: NotifierMetrics;
  readonly logger: Logger;
  /** Appends records and resolves once Kafka acknowledged every one (acks=all). */
  produce(records: readonly OutgoingRecord[]): Promise<void>;
  /** Waits `ms`, or less when the notifier is closing (then `closing()` is true). */
  wait(ms: number): Promise<void>;
  closing(): boolean;
  now(): number;
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
 * - what remains is a crash between the provider's answer and the ledger's write (a millisecond):
 *   that push goes again with the same `apns-id` and collapse id, so the device replaces the first
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
  if (pushes.length === 0) deps.logger.debug({ userId: request.userId, notificationId: request.notificationId }, "no push-capable device");
  const outcomes = await Promise.all(pushes.map(async (push) => ({ push, outcome: await pushOnce(deps, request, push) })));
  return outcomes.flatMap(({ push, outcome }) => recordsOf(deps, record, request, push, outcome));
}

/** The push's outcome: the ledger's when it was made before, else the provider's after retries, remembered. */
async function pushOnce(deps: NotifierDeps, request: NotificationRequested, push: PlannedPush): Promise<SendOutcome> {
  const known = await deps.ledger.outcome(request.userId, request.notificationId, push.deviceId);
  if (known !== undefined) return known;
  const outcome = await send(deps, request, push);
  await deps.ledger.remember(request.userId, request.notificationId, push.deviceId, outcome);
  if (outcome.kind === "sent") deps.metrics.sent.inc({ provider: outcome.provider, type: outcome.pushKind });
  else deps.metrics.failed.inc({ provider: outcome.provider, reason: outcome.failure });
  return outcome;
}

/** Sends with bounded retries: `retry_later` waits (backoff, or the provider's Retry-After) and tries again. */
async function send(deps: NotifierDeps, request: NotificationRequested, push: PlannedPush): Promise<SendOutcome> {
  const sender = deps.senders[push.channel];
  if (sender === undefined) {
    return { kind: "failed", provider: push.channel, failure: "provider_not_configured", reason: "provider_not_configured", permanent: false };
  }
  const log = deps.logger.child({ userId: request.userId, notificationId: request.notificationId, deviceId: push.deviceId, provider: sender.provider });
  for (let attempt = 1; ; attempt += 1) {
    if (attempt === 1) deps.metrics.latency.observe({ provider: sender.provider }, Math.max(0, deps.now() - request.meta.occurredAt) / 1000);
    const result = await sender.send(push.message);
    if (result.outcome !== "retry_later") return outcomeOf(result, sender.provider, push.message.kind, push.message.token, push.tokenAt);
    const delay = retryDelay(attempt, result.retryAfterMs, deps.budget);
    if (delay === undefined) {
      log.warn({ attempts: attempt, reason: result.reason }, "push given up after its retries");
      return outcomeOf(result, sender.provider, push.message.kind, push.message.token);
    }
    log.info({ attempt, reason: result.reason, delayMs: delay }, "provider answered later; retrying");
    await deps.wait(delay);
    if (deps.closing()) throw new NotifierClosing();
    deps.metrics.retries.inc({ provider: sender.provider });
  }
}

/** The commands (and dead letter) that record one push's outcome. */
function recordsOf(deps: NotifierDeps, record: ConsumedRecord, request: NotificationRequested, push: PlannedPush, outcome: SendOutcome): OutgoingRecord[] {
  const { userId, notificationId } = request;
  const meta = (what: string): CommandMeta => ({
    commandId: `notifier:${notificationId}:${push.deviceId}:${what}`,
    correlationId: request.meta.correlationId,
    actorId: NOTIFIER_ACTOR,
    workspaceId: request.meta.workspaceId,
    issuedAt: deps.now(),
    replyTo: null,
  });
  const commands = deps.topicPrefix + TOPICS.notifications.commands;
  if (outcome.kind === "sent") {
    return [
      {
        topic: commands,
        key: userId,
        fullName: "quikchat.notifications.RecordDispatch",
        value: { meta: meta("dispatch"), userId, notificationId, channel: push.channel, provider: outcome.provider, deviceId: push.deviceId, providerMessageId: outcome.providerMessageId } satisfies RecordDispatch,
      },
    ];
  }
  const records: OutgoingRecord[] = [
    {
      topic: commands,
      key: userId,
      fullName: "quikchat.notifications.RecordFailure",
      value: { meta: meta("failure"), userId, notificationId, channel: push.channel, provider: outcome.provider, deviceId: push.deviceId, reason: outcome.reason, permanent: outcome.permanent } satisfies RecordFailure,
    },
  ];
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
