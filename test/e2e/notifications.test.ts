import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { PresenceReadModel } from "../../src/contexts/presence/projections/presence/presence-read-model.js";
import { arrives, listen, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo, type Payload } from "../support/phoenix-client.js";
import { readTopic } from "../support/processor-harness.js";
import { startService, stopService, type ServiceProcess } from "../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const WINDOW_MS = 1_000;
const USER_EVENTS = ["message", "notification"];

/**
 * Who is notified, through the whole service with the stock phoenix client: messages sent on
 * `chat:` → the notification policy → `RequestNotification` on `quikapp.notifications.commands`
 * (read back from Kafka) and `message` / `notification` on `user:{userId}`; acknowledgements back
 * as `RecordDelivery`.
 */
describe("notifications, end to end", () => {
  const prefix = uniquePrefix("notifications");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
  const logger = testLogger();
  const redis = createRedis(config.redis.url, logger, { name: "notifications-e2e" });
  const presence = new PresenceReadModel(redis, prefix);
  const sockets: Socket[] = [];
  let service: ServiceProcess;
  let base: string;
  let codec: AvroCodec;
  let conversationId: string;

  beforeAll(async () => {
    ({ service, base } = await startService("notifications", { KAFKA_TOPIC_PREFIX: prefix, NOTIFY_BATCH_WINDOW_MS: String(WINDOW_MS) }));
    codec = (await bootstrapContract(config, logger)).codec;
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${await tokenFor("alice")}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: ["bob", "carol"], name: "Launch" }),
    });
    expect(created.status).toBe(201);
    conversationId = ((await created.json()) as { id: string }).id;
  }, 150_000);

  afterAll(async () => {
    await stopService(service, sockets);
    await redis.quit();
  });

  async function connect(user: string, params: Payload = {}): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user), ...params });
    sockets.push(socket);
    return socket;
  }

  const requests = async (): Promise<Payload[]> =>
    (await readTopic(config, prefix + TOPICS.notifications.commands, codec)).filter((record) => record.fullName === "quikchat.notifications.RequestNotification").map((record) => record.value!);
  const requestsOf = async (userId: string, since: number): Promise<Payload[]> =>
    (await requests()).filter((request) => request.userId === userId && request.conversationId === conversationId && Number((request.data as Record<string, string>).seq) >= since);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  let alice: Listening;
  let seq = 0;
  async function send(content: string): Promise<number> {
    const reply = await pushTo(alice.channel, "message:send", { content });
    expect(reply.status, JSON.stringify(reply.response)).toBe("ok");
    seq = Number(reply.response.seq);
    return seq;
  }

  it("asks nothing for a member whose socket is joined to the conversation, nor for the sender, and does not repeat the message on that socket's user channel", async () => {
    alice = await listen(await connect("alice"), `chat:${conversationId}`, ["message:new"]);
    const bobSocket = await connect("bob");
    const bob = await listen(bobSocket, `conversation:${conversationId}`, ["new_message"]);
    const bobOwn = await listen(bobSocket, "user:bob", USER_EVENTS);
    await eventually(async () => ((await presence.views("bob", [`conversation:${conversationId}`], Date.now())) ? true : undefined), 20_000, "bob's socket viewing the conversation");
    const first = await send("standup in 5");
    await arrives(bob.inbox, "new_message", { seq: first });
    // carol has no socket: her notification shows the burst was decided.
    await eventually(async () => ((await requestsOf("carol", first)).length > 0 ? true : undefined), 20_000, "carol's notification");
    await pause(WINDOW_MS);
    expect(await requestsOf("bob", first)).toEqual([]);
    expect(await requestsOf("alice", first)).toEqual([]);
    // The socket shows the message on the conversation's topic: its user channel does not repeat it.
    expect(bobOwn.inbox).toEqual([]);
    bobSocket.disconnect();
  });

  it("tells a member with only the user channel joined of each message, then of the notification", async () => {
    const bobSocket = await connect("bob");
    const bob = await listen(bobSocket, "user:bob", USER_EVENTS);
    await eventually(async () => ((await presence.views("bob", [`conversation:${conversationId}`], Date.now())) ? undefined : true), 20_000, "bob no longer viewing");
    const sent = await send("the build is green");
    const message = await arrives(bob.inbox, "message", { seq: sent });
    expect(message).toEqual({ conversationId, messageId: expect.any(String), seq: sent, senderId: "alice", type: "text", preview: "the build is green", mentioned: false, sentAt: expect.any(Number) });
    const notification = await arrives(bob.inbox, "notification", { conversationId });
    expect(notification).toMatchObject({ category: "new_message", title: "Launch", body: "alice: the build is green", priority: "normal", data: { seq: String(sent), count: "1" } });
    expect(notification.notificationId).toBe(`message:${conversationId}:${sent}:bob`);

    // An acknowledgement on the user channel becomes a RecordDelivery for the aggregate, with the socket's device.
    const phone = await listen(await connect("bob", { device_id: "bob-phone", platform: "ios" }), "user:bob", USER_EVENTS);
    expect(await pushTo(phone.channel, "notification:ack", { notificationId: notification.notificationId })).toEqual({ status: "ok", response: {} });
    expect(await pushTo(phone.channel, "notification:ack", { notificationId: 7 })).toMatchObject({ status: "error", response: { reason: "invalid", message: "notificationId must be a string" } });
    expect(await pushTo(bob.channel, "notification:ack", { notificationId: "n1" })).toMatchObject({ status: "error", response: { reason: "invalid", message: expect.stringContaining("deviceId") } });
    const deliveries = await eventually(async () => {
      const found = (await readTopic(config, prefix + TOPICS.notifications.commands, codec)).filter((record) => record.fullName === "quikchat.notifications.RecordDelivery");
      return found.length > 0 ? found : undefined;
    }, 20_000, "the RecordDelivery");
    expect(deliveries.map((record) => record.value)).toEqual([expect.objectContaining({ userId: "bob", notificationId: notification.notificationId, channel: "apns", deviceId: "bob-phone" })]);
    bobSocket.disconnect();
    phone.channel.leave();
  });

  it("asks once per burst for a member with no socket, summarising it", async () => {
    const from = seq + 1;
    await Promise.all([send("one"), send("two"), send("three")].map((sending) => sending.catch((error: unknown) => error)));
    const bob = await eventually(async () => {
      const found = await requestsOf("bob", from);
      return found.length > 0 ? found : undefined;
    }, 20_000, "bob's notification of the burst");
    await pause(WINDOW_MS * 2);
    const all = await requestsOf("bob", from);
    expect(all.map((request) => Number((request.data as Record<string, string>).count)).reduce((sum, count) => sum + count, 0)).toBe(3);
    expect(bob[0]).toMatchObject({ category: "new_message", collapseKey: `conversation:${conversationId}` });
    expect(all).toHaveLength(1);
    expect(all[0]!.body).toBe("3 new messages from alice");
  });

  it("asks nothing for a member who muted the conversation", async () => {
    const headers = { authorization: `Bearer ${await tokenFor("carol")}`, "content-type": "application/json" };
    const muted = await fetch(`${base}/api/conversations/${conversationId}/notifications`, { method: "PUT", headers, body: JSON.stringify({ muted: true }) });
    expect(muted.status).toBe(200);
    await eventually(async () => {
      const setting = (await (await fetch(`${base}/api/conversations/${conversationId}/notifications`, { headers })).json()) as { muted: boolean };
      return setting.muted ? true : undefined;
    }, 20_000, "carol's mute in the read model");
    const sent = await send("carol muted this");
    await eventually(async () => ((await requestsOf("bob", sent)).length > 0 ? true : undefined), 20_000, "bob's notification");
    await pause(WINDOW_MS);
    expect(await requestsOf("carol", sent)).toEqual([]);
  });

  it("acknowledges over REST, with the device a push reached, and refuses a notification the caller was never sent", async () => {
    const token = await tokenFor("carol");
    const ack = (body: Payload, id = "message:x:1:carol") =>
      fetch(`${base}/api/notifications/${encodeURIComponent(id)}/ack`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const unknown = await ack({ channel: "fcm", deviceId: "carol-pixel" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "Not Found", message: expect.stringContaining("no notification") });
    const refused = await ack({ channel: "fcm" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toContain("deviceId");
    expect((await ack({ channel: "pigeon", deviceId: "x" })).status).toBe(400);
    expect((await fetch(`${base}/api/notifications/n/ack`, { method: "POST", body: JSON.stringify({ channel: "fcm", deviceId: "x" }), headers: { "content-type": "application/json" } })).status).toBe(401);
  });
});
