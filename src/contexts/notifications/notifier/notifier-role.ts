import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { openApnsClient } from "../../../infra/apns/apns-client.js";
import { openFcmClient } from "../../../infra/fcm/fcm-client.js";
import { parseServiceAccount } from "../../../infra/fcm/service-account.js";
import { RecordConsumer } from "../../../infra/kafka/record-consumer.js";
import { RecordProducer } from "../../../infra/kafka/record-producer.js";
import type { Logger } from "../../../infra/log/logger.js";
import type { NotifierKit, NotifierPart } from "../../../platform/context-module.js";
import { TOPICS } from "../../../platform/contract/topics.js";
import type { MailSender } from "../../../platform/notifications/mail-sender.js";
import type { PushSender } from "../../../platform/notifications/push-sender.js";
import { openSesMailSender } from "../../../infra/email/ses-mail-sender.js";
import { openSmtpMailSender } from "../../../infra/email/smtp-mail-sender.js";
import { smtpRelaySettings } from "../../../infra/email/smtp-relays.js";
import { tablePrefixOf } from "../../../infra/mysql/mysql-pool.js";
import { MysqlReadPositionsStore } from "../../conversations/projections/membership/mysql-read-positions-store.js";
import { emailOf } from "../../users/projections/profiles/redis-profiles-store.js";
import type { NotificationsSettings } from "../config.js";
import { notifierMetrics } from "../metrics.js";
import { DigestQueue } from "./digest-queue.js";
import { runDigestMailer } from "./digest-mailer.js";
import { NotifierLedger } from "./notifier-ledger.js";
import { NotifierClosing, notifyBatch } from "./notifier.js";
import type { PushTargets } from "./push-targets.js";

/** The notifier's consumer group, under the topic prefix like every group: one notifier of the deployment handles each partition. */
const notifierGroup = (prefix: string) => `${prefix}quikchat.notifier`;
/** How long the notifier waits before handling a batch again after it could not (Redis, MongoDB or Kafka unreachable). */
const RETRY_BATCH_MS = 1_000;

/** A key file the notifier cannot read, named. */
async function readKeyFile(variable: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** The push sender of each configured provider; each provider left unconfigured is said once. */
export async function openPushSenders(settings: NotificationsSettings, logger: Logger): Promise<Partial<Record<"apns" | "fcm", PushSender>>> {
  const senders: Partial<Record<"apns" | "fcm", PushSender>> = {};
  const { apns, fcm } = settings;
  if (apns === undefined) logger.info("APNs is not configured (APNS_KEY_ID…): pushes to iOS devices are recorded failed, provider_not_configured");
  else {
    senders.apns = await openApnsClient({
      keyId: apns.keyId,
      teamId: apns.teamId,
      privateKey: await readKeyFile("APNS_KEY_PATH", apns.keyPath),
      bundleId: apns.bundleId,
      environment: apns.environment,
      ...(apns.baseUrl !== undefined ? { baseUrl: apns.baseUrl } : {}),
      ...(apns.caPath !== undefined ? { ca: await readKeyFile("APNS_CA_PATH", apns.caPath) } : {}),
    });
  }
  if (fcm === undefined) logger.info("FCM is not configured (FIREBASE_SERVICE_ACCOUNT): pushes to Android devices are recorded failed, provider_not_configured");
  else {
    const serviceAccount = parseServiceAccount(await readKeyFile("FIREBASE_SERVICE_ACCOUNT", fcm.serviceAccountPath));
    senders.fcm = await openFcmClient({
      serviceAccount,
      ...(fcm.projectId !== undefined ? { projectId: fcm.projectId } : {}),
      ...(fcm.baseUrl !== undefined ? { baseUrl: fcm.baseUrl } : {}),
    });
  }
  return senders;
}

/** The mail sender of the configured relay; undefined (said once) when email is off. */
export function openMailSender(settings: NotificationsSettings, logger: Logger): MailSender | undefined {
  const email = settings.email;
  switch (email?.provider) {
    case undefined:
      logger.info("email is not configured (EMAIL_PROVIDER): users without a push-capable device get no digest");
      return undefined;
    case "smtp":
      return openSmtpMailSender({ host: email.host, port: email.port, secure: email.secure, requireTls: email.requireTls, from: email.from, ...(email.auth !== undefined ? { auth: email.auth } : {}) });
    case "sendgrid":
      return openSmtpMailSender(smtpRelaySettings("sendgrid", { apiKey: email.apiKey }, email.from), "sendgrid");
    case "mailgun":
      return openSmtpMailSender(smtpRelaySettings("mailgun", { user: email.user, pass: email.pass, region: email.region }, email.from), "mailgun");
    case "ses":
      return openSesMailSender({ region: email.region, from: email.from, ...(email.endpoint !== undefined ? { endpoint: email.endpoint } : {}), ...(email.credentials !== undefined ? { credentials: email.credentials } : {}) });
  }
}

/** The domain of an address (`Name <user@domain>` or `user@domain`), for the Message-IDs of the mails it sends. */
const domainOf = (from: string) => /@([^>\s]+)/.exec(from)?.[1] ?? "quikchat.invalid";

/**
 * The notifier role of the notifications context: a consumer of `quikapp.notifications.events` in
 * the group `<prefix>quikchat.notifier` that sends each requested notification through the providers
 * (see `notifyBatch`) and commits a batch's offsets once its records are acknowledged. A batch
 * that cannot be handled (a store unreachable) is tried again, never skipped.
 */
export async function startNotifier(kit: NotifierKit, settings: NotificationsSettings, targets: PushTargets): Promise<NotifierPart> {
  const { config, codec } = kit;
  const logger = kit.logger.child({ component: "notifier" });
  const prefix = config.kafka.topicPrefix;
  const senders = await openPushSenders(settings, logger);
  const mail = openMailSender(settings, logger);
  const readPositions = new MysqlReadPositionsStore(kit.pool, tablePrefixOf(prefix));
  const queue = new DigestQueue(kit.redis, prefix);
  const addressOf = (userId: string) => emailOf(kit.redis, prefix, userId);
  const producer = new RecordProducer({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-notifier` }, codec, logger);
  const consumer = new RecordConsumer({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-notifier`, groupId: notifierGroup(prefix), topics: [prefix + TOPICS.notifications.events] }, codec, logger);
  let closing = false;
  let started = false;
  const sleepers = new Set<() => void>();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
  const deps = {
    topicPrefix: prefix,
    senders,
    targets,
    ledger: new NotifierLedger(kit.redis, prefix),
    owner: `${hostname()}:${process.pid}:${randomUUID()}`,
    budget: settings,
    metrics: notifierMetrics(kit.registry),
    logger,
    produce: (records: Parameters<RecordProducer["send"]>[0]) => producer.send(records),
    wait,
    closing: () => closing,
    now: Date.now,
    ...(mail !== undefined ? { digests: { queue, delayMs: settings.emailDelayMs, addressOf } } : {}),
  };
  let mailer: Promise<void> | undefined;
  try {
    await producer.connect();
    await consumer.start({
      onBatch: async (records) => {
        for (;;) {
          if (closing) throw new NotifierClosing();
          try {
            await notifyBatch(deps, records);
            return;
          } catch (error) {
            if (closing) throw error instanceof NotifierClosing ? error : new NotifierClosing();
            logger.warn({ err: error }, "could not handle a batch of notifications; trying it again");
            await wait(RETRY_BATCH_MS);
          }
        }
      },
      onUndecodable: async (record) => {
        // Not a record of this build's contract: the notifications processor dead-letters what it
        // cannot read on its own topic; an event nobody can read is logged and passed.
        logger.error({ err: record.error, topic: record.topic, partition: record.partition, offset: record.offset }, "undecodable notifications event skipped");
      },
    });
    if (mail !== undefined) {
      await readPositions.ensureSchema();
      const digestDeps = { ...deps, mail, queue, addressOf, delayMs: settings.emailDelayMs, domain: domainOf(settings.email?.from ?? ""), readSeq: async (conversationId: string, userId: string) => (await readPositions.position(conversationId, userId)).readSeq };
      // Due digests are looked for a few times per delay, at least every 5 s: a digest goes at most that late.
      mailer = runDigestMailer(digestDeps, Math.min(5_000, Math.max(100, Math.floor(settings.emailDelayMs / 4))));
    }
    started = true;
  } catch (error) {
    closing = true;
    for (const wake of [...sleepers]) wake();
    await mailer;
    await producer.close().catch(() => undefined);
    await Promise.all(Object.values(senders).map((sender) => sender.close()));
    await mail?.close();
    throw error;
  }
  return {
    ready: () => started,
    close: async () => {
      closing = true;
      for (const wake of [...sleepers]) wake();
      await consumer.close();
      await mailer;
      await producer.close();
      await Promise.all(Object.values(senders).map((sender) => sender.close()));
      await mail?.close();
    },
  };
}
