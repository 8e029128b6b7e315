import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifierMetrics } from "../../../../src/contexts/notifications/metrics.js";
import { NotifierLedger } from "../../../../src/contexts/notifications/notifier/notifier-ledger.js";
import { notifyBatch, type NotifierDeps } from "../../../../src/contexts/notifications/notifier/notifier.js";
import type { PushDevice } from "../../../../src/contexts/notifications/notifier/push-targets.js";
import type { SendOutcome } from "../../../../src/contexts/notifications/notifier/send-outcome.js";
import { openApnsClient } from "../../../../src/infra/apns/apns-client.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import type { OutgoingRecord } from "../../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../../src/infra/redis/redis-connection.js";
import type { NotificationRequested } from "../../../../src/platform/contract/generated/avro-types.js";
import type { PushSender } from "../../../../src/platform/notifications/push-sender.js";
import { sleep } from "../../../../src/platform/sleep.js";
import { startApnsStandIn, type ApnsStandIn } from "../../../support/apns-stand-in.js";
import { testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";
import { STAND_IN_CERT } from "../../../support/test-tls.js";

const KEY_ID = "LEDGER1234";
const TEAM_ID = "TEAM123456";
const BUNDLE_ID = "com.quikchat.ledger-test";
const team = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const sent: SendOutcome = { kind: "sent", provider: "apns", providerMessageId: "m-1", pushKind: "alert" };

/**
 * The notifiers' ledger against Redis: claims are leases that keep two notifiers from sending one
 * push at once (the old and new owner of a partition during a rebalance), and what one sent the
 * other records without sending.
 */
describe("the notifier ledger", () => {
  const prefix = uniquePrefix("notifier-ledger");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
  const logger = testLogger();
  const redis = createRedis(config.redis.url, logger, { name: "notifier-ledger-test" });
  const ledger = new NotifierLedger(redis, prefix);
  let apns: ApnsStandIn;
  let sender: PushSender;

  beforeAll(async () => {
    apns = await startApnsStandIn({ publicKey: team.publicKey, keyId: KEY_ID, teamId: TEAM_ID, bundleId: BUNDLE_ID });
    sender = await openApnsClient({
      keyId: KEY_ID,
      teamId: TEAM_ID,
      privateKey: team.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      bundleId: BUNDLE_ID,
      environment: "sandbox",
      baseUrl: apns.url,
      ca: STAND_IN_CERT,
    });
  });

  afterAll(async () => {
    await sender?.close();
    await apns?.close();
    await redis.quit();
  });

  it("lets one owner claim a push at a time, until its outcome is remembered or its lease lapses", async () => {
    const notificationId = randomUUID();
    expect(await ledger.claim("u1", notificationId, "d1", "a", 300)).toEqual({ kind: "claimed" });
    expect(await ledger.claim("u1", notificationId, "d1", "a", 300)).toEqual({ kind: "claimed" });
    const held = await ledger.claim("u1", notificationId, "d1", "b", 300);
    expect(held.kind).toBe("held");
    expect(held.kind === "held" && held.remainingMs).toBeGreaterThan(0);
    expect(await ledger.claim("u1", notificationId, "d2", "b", 300)).toEqual({ kind: "claimed" });

    await sleep(400);
    expect(await ledger.claim("u1", notificationId, "d1", "b", 300)).toEqual({ kind: "claimed" });
    await ledger.remember("u1", notificationId, "d1", sent);
    expect(await ledger.claim("u1", notificationId, "d1", "a", 300)).toEqual({ kind: "done", outcome: sent });
    expect(await ledger.outcome("u1", notificationId, "d1")).toEqual(sent);
  });

  /** A notifier named `owner` over the stand-in, Redis and one iPhone; what it would produce is kept. */
  function notifier(owner: string, device: PushDevice, produced: OutgoingRecord[]): NotifierDeps {
    return {
      topicPrefix: prefix,
      senders: { apns: sender },
      targets: { devicesOf: async () => [device] },
      ledger,
      owner,
      budget: { maxAttempts: 3, retryBaseMs: 1_000, retryMaxMs: 1_000 },
      metrics: notifierMetrics(new Registry()),
      logger,
      produce: async (records) => void produced.push(...records),
      wait: sleep,
      closing: () => false,
      now: Date.now,
    };
  }

  it("sends a push once when two notifiers handle the same batch at once, the second waiting out the first's retry", async () => {
    const token = randomBytes(32).toString("hex");
    const device: PushDevice = { deviceId: "iphone", platform: "ios", pushChannel: "apns", pushToken: token, voipToken: null };
    const request: NotificationRequested = {
      meta: { eventId: randomUUID(), occurredAt: Date.now(), correlationId: randomUUID(), causationId: null, actorId: "system:notifications", workspaceId: "w1" },
      userId: "u-rebalance",
      notificationId: randomUUID(),
      category: "new_message",
      title: "Ada",
      body: "lunch?",
      data: {},
      conversationId: "c1",
      messageId: null,
      callId: null,
      huddleId: null,
      priority: "high",
      collapseKey: null,
    };
    const record: ConsumedRecord = { topic: `${prefix}quikapp.notifications.events`, partition: 0, offset: 7, key: request.userId, timestamp: Date.now(), headers: {}, fullName: "quikchat.notifications.NotificationRequested", value: request };
    // The first attempt meets an outage: the first notifier waits a second with the push claimed.
    apns.answerNext(token, { status: 503, reason: "ServiceUnavailable" });
    const fromOld: OutgoingRecord[] = [];
    const fromNew: OutgoingRecord[] = [];

    const old = notifyBatch(notifier("old-owner", device, fromOld), [record]);
    await sleep(200);
    await Promise.all([old, notifyBatch(notifier("new-owner", device, fromNew), [record])]);

    const pushes = apns.received.filter((push) => push.token === token);
    expect(pushes.map((push) => push.status)).toEqual([503, 200]);
    // Both report the one push made, under the same command id: the aggregate records it once.
    const dispatch = (records: OutgoingRecord[]) => records.filter((produced) => produced.fullName === "quikchat.notifications.RecordDispatch").map((produced) => (produced.value as { meta: { commandId: string } }).meta.commandId);
    expect(dispatch(fromOld)).toHaveLength(1);
    expect(dispatch(fromNew)).toEqual(dispatch(fromOld));
  });
});
