import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import { userKeys } from "../../src/contexts/users/projections/profiles/redis-profiles-store.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import { RecordProducer } from "../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import type { UserCreated } from "../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { listen, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo } from "../support/phoenix-client.js";
import { readTopic } from "../support/processor-harness.js";
import { startService, stopService, type ServiceProcess } from "../support/service-process.js";
import { startSmtpStandIn, type SmtpStandIn } from "../support/smtp-stand-in.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { STAND_IN_CERT } from "../support/test-tls.js";
import { tokenFor } from "../support/tokens.js";

const WINDOW_MS = 300;
const DELAY_MS = 4_000;
const FROM = "QuikChat <digest@quikchat.test>";
const WORKSPACE = "w1";

/**
 * Email digests through the whole service: messages sent with the stock phoenix client → the
 * notification policy → the notifier, which holds the notifications of a member without a
 * push-capable device and, after EMAIL_DELAY_MS unread, mails one digest through a real SMTP
 * server (smtp-server, parsed with mailparser), recorded as NotificationSent on the email channel.
 */
describe("email digests, end to end", () => {
  const prefix = uniquePrefix("digest");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
  const logger = testLogger();
  const redis = createRedis(config.redis.url, logger, { name: "digest-e2e" });
  const sockets: Socket[] = [];
  const suffix = randomUUID().slice(0, 6);
  const [bob, dave, erin] = ["bob", "dave", "erin"].map((name) => `${name}-${suffix}`) as [string, string, string];
  const addressOf = (userId: string) => `${userId}@example.com`;
  let smtp: SmtpStandIn;
  let service: ServiceProcess;
  let base: string;
  let codec: AvroCodec;
  let producer: RecordProducer;
  let conversationId: string;
  let alice: Listening;

  const headers = async (user: string) => ({ authorization: `Bearer ${await tokenFor(user, WORKSPACE)}`, "content-type": "application/json" });
  const mailsTo = (userId: string) => smtp.received.filter((mail) => mail.envelope.to.includes(addressOf(userId)));
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const requestsOf = async (userId: string) =>
    (await readTopic(config, prefix + TOPICS.notifications.commands, codec)).filter((record) => record.fullName === "quikchat.notifications.RequestNotification" && record.value?.userId === userId);

  /** The user service's account of `userId`, with an address, as it publishes it. */
  async function createUser(userId: string): Promise<void> {
    const event: UserCreated = {
      meta: { eventId: randomUUID(), occurredAt: Date.now(), correlationId: randomUUID(), causationId: null, actorId: "user-service", workspaceId: WORKSPACE },
      userId,
      displayName: userId,
      username: null,
      email: addressOf(userId),
      avatarUrl: null,
      timezone: null,
    };
    await producer.send([{ topic: prefix + TOPICS.users.events, key: userId, fullName: "quikchat.users.UserCreated", value: event }]);
  }

  async function send(content: string): Promise<number> {
    const reply = await pushTo(alice.channel, "message:send", { content });
    expect(reply.status, JSON.stringify(reply.response)).toBe("ok");
    return Number(reply.response.seq);
  }

  beforeAll(async () => {
    smtp = await startSmtpStandIn();
    const dir = mkdtempSync(join(tmpdir(), "quikchat-digest-"));
    writeFileSync(join(dir, "ca.pem"), STAND_IN_CERT);
    ({ service, base } = await startService("digest", {
      KAFKA_TOPIC_PREFIX: prefix,
      NOTIFY_BATCH_WINDOW_MS: String(WINDOW_MS),
      EMAIL_PROVIDER: "smtp",
      EMAIL_FROM: FROM,
      EMAIL_DELAY_MS: String(DELAY_MS),
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(smtp.port),
      // The stand-in offers STARTTLS with the tests' own certificate.
      NODE_EXTRA_CA_CERTS: join(dir, "ca.pem"),
    }));
    codec = (await bootstrapContract(config, logger)).codec;
    producer = new RecordProducer(config.kafka, codec, logger);
    await producer.connect();
    for (const user of ["alice", bob, dave, erin]) await createUser(user);
    await eventually(async () => ((await redis.hget(userKeys(prefix).profile(erin), "email")) === addressOf(erin) ? true : undefined), 30_000, "the users read model");
    // Erin's phone can receive pushes (APNs is not configured here: the push is recorded failed, and she is not mailed).
    const device = await fetch(`${base}/api/devices`, { method: "POST", headers: await headers(erin), body: JSON.stringify({ deviceId: "erin-phone", platform: "ios", pushToken: "a".repeat(64), pushProvider: "apns" }) });
    expect(device.status, await device.clone().text()).toBeLessThan(300);
    const created = await fetch(`${base}/api/conversations`, { method: "POST", headers: await headers("alice"), body: JSON.stringify({ type: "group", members: [bob, dave, erin], name: "Launch <team>" }) });
    expect(created.status).toBe(201);
    conversationId = ((await created.json()) as { id: string }).id;
    const socket = connectSocket(base, { token: await tokenFor("alice", WORKSPACE) });
    sockets.push(socket);
    alice = await listen(socket, `chat:${conversationId}`, ["message:new"]);
  }, 150_000);

  afterAll(async () => {
    if (service !== undefined) await stopService(service, sockets);
    await Promise.all([producer?.close(), smtp?.close(), redis.quit()]);
  });

  it("mails one digest of several messages to a member without devices, none to one who read them in time, none to one with a phone", async () => {
    const texts = ["standup moved to 10", "the build is <green> & deployed", "lunch?"];
    let last = 0;
    for (const text of texts) {
      last = await send(text);
      // Past the policy's burst window: one notification per message.
      await pause(WINDOW_MS * 2);
    }
    await eventually(async () => ((await requestsOf(dave)).length === texts.length ? true : undefined), 20_000, "dave's notifications");

    // Dave reads the conversation before the delay is over.
    const daveSocket = connectSocket(base, { token: await tokenFor(dave, WORKSPACE) });
    sockets.push(daveSocket);
    const daveChat = await listen(daveSocket, `chat:${conversationId}`, []);
    expect((await pushTo(daveChat.channel, "message:read", { seq: last })).status).toBe("ok");
    daveChat.channel.leave();

    const [digest] = await eventually(async () => (mailsTo(bob).length > 0 ? mailsTo(bob) : undefined), 30_000, "bob's digest");
    const mail = digest!.parsed;
    expect(mail.from?.value).toEqual([{ name: "QuikChat", address: "digest@quikchat.test" }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : undefined).toBe(addressOf(bob));
    expect(mail.subject).toBe("You missed 3 notifications: Launch <team> and 2 more");
    expect(mail.messageId).toMatch(/^<digest-[0-9a-f]{32}@quikchat\.test>$/);
    for (const text of texts) {
      expect(mail.text).toContain(`alice: ${text}`);
    }
    expect(mail.html).toContain("alice: the build is &lt;green&gt; &amp; deployed");
    expect(mail.html).toContain("<strong>Launch &lt;team&gt;</strong>");

    const sent = await eventually(async () => {
      const found = (await readTopic(config, prefix + TOPICS.notifications.events, codec)).filter((record) => record.fullName === "quikchat.notifications.NotificationSent" && record.value?.userId === bob);
      return found.length === texts.length ? found : undefined;
    }, 30_000, "bob's NotificationSent by email");
    for (const record of sent) expect(record.value).toMatchObject({ channel: "email", provider: "smtp", deviceId: null });

    // Well past the delay: still one mail to bob, none to dave (read in time) nor to erin (she has a phone).
    await pause(DELAY_MS + 2_000);
    expect(mailsTo(bob)).toHaveLength(1);
    expect(mailsTo(dave)).toEqual([]);
    expect(mailsTo(erin)).toEqual([]);
    const erinEvents = (await readTopic(config, prefix + TOPICS.notifications.events, codec)).filter((record) => record.value?.userId === erin && record.fullName === "quikchat.notifications.NotificationFailed");
    expect(erinEvents.map((record) => record.value?.channel)).toContain("apns");
  });
});
