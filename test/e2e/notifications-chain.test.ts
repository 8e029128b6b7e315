import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import { conversationTopics } from "../../src/contexts/notifications/policy/read-model-facts.js";
import { PresenceReadModel } from "../../src/contexts/presence/projections/presence/presence-read-model.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { sleep } from "../../src/platform/sleep.js";
import { arrives, listen, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo, type Payload } from "../support/phoenix-client.js";
import { readTopic } from "../support/processor-harness.js";
import { apnsDeviceToken, fcmRegistrationToken, startPushStandIns, type PushStandIns } from "../support/push-stand-ins.js";
import { restClient, startService, stopService, type ServiceProcess } from "../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const BUNDLE_ID = "com.quikchat.notify-chain";
const WINDOW_MS = 500;
/** A burst's window, a flusher tick and the notifier's hop, with room: a push that was coming has come by then. */
const QUIET_MS = 1_500;

/**
 * One user's action reaching another's phones, through the whole service with every role and the
 * stock phoenix client: devices registered over REST as an app registers them; a message on
 * `chat:` → the notification policy → the notifications aggregate → the notifier → the APNs and
 * FCM stand-ins (who gets a push, and who does not: the sender, a member viewing the
 * conversation, a member who muted it); a call on `webrtc:lobby` → a VoIP push and a missed call;
 * the phone's acknowledgement → `NotificationDelivered`, answered by the aggregate's decision.
 */
describe("notifications through the whole chain, from a user's action to the other's phones", () => {
  const prefix = uniquePrefix("notify-chain");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
  const logger = testLogger();
  const redis = createRedis(config.redis.url, logger, { name: "notify-chain-e2e" });
  const presence = new PresenceReadModel(redis, prefix);
  const sockets: Socket[] = [];
  const phones = { bobIphone: apnsDeviceToken(), bobVoip: apnsDeviceToken(), bobPixel: fcmRegistrationToken(), alicePixel: fcmRegistrationToken(), carolPixel: fcmRegistrationToken() };
  let providers: PushStandIns;
  let service: ServiceProcess;
  let base: string;
  let api: ReturnType<typeof restClient>;
  let codec: AvroCodec;
  let conversationId: string;
  let alice: Socket;
  let aliceChat: Listening;

  beforeAll(async () => {
    providers = await startPushStandIns("notify-chain");
    ({ service, base } = await startService("notify-chain", { KAFKA_TOPIC_PREFIX: prefix, NOTIFY_BATCH_WINDOW_MS: String(WINDOW_MS), ...providers.env }));
    api = restClient(base);
    codec = (await bootstrapContract(config, logger)).codec;

    // As the apps register: bob's iPhone its alert token, then its PushKit token; the Android phones their FCM tokens.
    const registrations: [string, Payload][] = [
      ["bob", { deviceId: "bob-iphone", platform: "ios", pushToken: phones.bobIphone, pushProvider: "apns" }],
      ["bob", { deviceId: "bob-iphone", platform: "ios", pushToken: phones.bobVoip, pushProvider: "apns_voip" }],
      ["bob", { deviceId: "bob-pixel", platform: "android", pushToken: phones.bobPixel, pushProvider: "fcm" }],
      ["alice", { deviceId: "alice-pixel", platform: "android", pushToken: phones.alicePixel, pushProvider: "fcm" }],
      ["carol", { deviceId: "carol-pixel", platform: "android", pushToken: phones.carolPixel, pushProvider: "fcm" }],
    ];
    for (const [user, device] of registrations) expect((await api(user, "POST", "/api/devices", device)).status).toBeLessThan(300);
    await eventually(async () => {
      const devices = (await api("bob", "GET", "/api/devices")).body.devices as Payload[];
      return devices.length === 2 && devices.some((device) => device.voipToken === phones.bobVoip) ? true : undefined;
    }, 20_000, "bob's iPhone with both tokens and his Android phone listed");

    const created = await api("alice", "POST", "/api/conversations", { type: "group", members: ["bob", "carol"], name: "Launch" });
    expect(created.status).toBe(201);
    conversationId = String(created.body.id);
    alice = await connect("alice");
    aliceChat = await listen(alice, `chat:${conversationId}`, []);
  }, 150_000);

  afterAll(async () => {
    if (service !== undefined) await stopService(service, sockets);
    await Promise.all([redis.quit(), providers?.close()]);
  });

  async function connect(user: string, params: Payload = {}): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user), ...params });
    sockets.push(socket);
    return socket;
  }

  async function send(content: string): Promise<number> {
    const reply = await pushTo(aliceChat.channel, "message:send", { content });
    expect(reply.status, JSON.stringify(reply.response)).toBe("ok");
    return Number(reply.response.seq);
  }

  const dataOf = (sent: { message?: Record<string, unknown> | undefined }) => (sent.message?.data ?? {}) as Record<string, string>;
  /** Carol (no socket, nothing muted) is notified of every burst: her push shows the burst was decided. */
  const carolNotifiedOf = (seq: number) =>
    eventually(async () => (providers.fcmTo(phones.carolPixel).some((sent) => dataOf(sent).seq === String(seq)) ? true : undefined), 20_000, `carol's push of message ${seq}`);
  const bobsPushes = () => ({ iphone: providers.apnsTo(phones.bobIphone).length, voip: providers.apnsTo(phones.bobVoip).length, pixel: providers.fcmTo(phones.bobPixel).length });
  const viewing = (user: string) => presence.views(user, conversationTopics(conversationId), Date.now());

  let messageNotificationId: string;

  it("a message reaches each phone of a member without a socket once, and no phone of the sender", async () => {
    const seq = await send("lunch at noon?");
    messageNotificationId = `message:${conversationId}:${seq}:bob`;
    // The first push after the service started: its consumers may still be joining their groups.
    await eventually(async () => (providers.apnsTo(phones.bobIphone).length > 0 && providers.fcmTo(phones.bobPixel).length > 0 ? true : undefined), 30_000, "bob's pushes");
    const alert = { title: "Launch", body: "alice: lunch at noon?" };
    expect(providers.apnsTo(phones.bobIphone)[0]).toMatchObject({ status: 200, topic: BUNDLE_ID, pushType: "alert", payload: { aps: { alert }, notificationId: messageNotificationId, conversationId, category: "new_message" } });
    expect(providers.fcmTo(phones.bobPixel)[0]).toMatchObject({ status: 200, message: { notification: alert, data: { notificationId: messageNotificationId, conversationId, seq: String(seq) } } });

    await sleep(QUIET_MS);
    expect(bobsPushes()).toEqual({ iphone: 1, voip: 0, pixel: 1 });
    expect(providers.fcmTo(phones.alicePixel)).toEqual([]);
  });

  it("no push for a member whose socket is joined to the conversation", async () => {
    const bob = await connect("bob");
    const bobChat = await listen(bob, `chat:${conversationId}`, ["message:new"]);
    await eventually(async () => ((await viewing("bob")) ? true : undefined), 20_000, "bob's socket viewing the conversation");
    const seq = await send("on my way");
    await arrives(bobChat.inbox, "message:new", { seq });
    await carolNotifiedOf(seq);
    await sleep(QUIET_MS);
    expect(bobsPushes()).toEqual({ iphone: 1, voip: 0, pixel: 1 });
    bob.disconnect();
    await eventually(async () => ((await viewing("bob")) ? undefined : true), 20_000, "bob no longer viewing");
  });

  it("no push for a member who muted the conversation", async () => {
    const path = `/api/conversations/${conversationId}/notifications`;
    expect(await api("bob", "PUT", path, { muted: true })).toMatchObject({ status: 200, body: { muted: true } });
    await eventually(async () => ((await api("bob", "GET", path)).body.muted === true ? true : undefined), 20_000, "bob's mute in the read model");
    const seq = await send("muted, this one");
    await carolNotifiedOf(seq);
    await sleep(QUIET_MS);
    expect(bobsPushes()).toEqual({ iphone: 1, voip: 0, pixel: 1 });
    expect(await api("bob", "PUT", path, { muted: false })).toMatchObject({ status: 200, body: { muted: false } });
  });

  it("a call rings the iPhone through PushKit and the Android phone with a high-priority data message; cancelled unanswered, it is a missed call", async () => {
    const lobby = await listen(alice, "webrtc:lobby", []);
    const initiated = await pushTo(lobby.channel, "call:initiate", { calleeId: "bob", type: "audio" });
    expect(initiated.status, JSON.stringify(initiated.response)).toBe("ok");
    const callId = String(initiated.response.callId);
    const ringsOnPixel = () => providers.fcmTo(phones.bobPixel).filter((sent) => dataOf(sent).category === "incoming_call");
    await eventually(async () => (providers.apnsTo(phones.bobVoip).length > 0 && ringsOnPixel().length > 0 ? true : undefined), 20_000, "the call's pushes");
    expect(providers.apnsTo(phones.bobVoip)).toEqual([expect.objectContaining({ status: 200, topic: `${BUNDLE_ID}.voip`, pushType: "voip", priority: "10", payload: expect.objectContaining({ callId, category: "incoming_call", callerId: "alice" }) })]);
    expect(ringsOnPixel()).toEqual([expect.objectContaining({ status: 200, message: expect.objectContaining({ android: expect.objectContaining({ priority: "HIGH" }), data: expect.objectContaining({ callId }) }) })]);
    expect(ringsOnPixel()[0]!.message).not.toHaveProperty("notification");

    expect(await pushTo(lobby.channel, "call:end", { callId })).toMatchObject({ status: "ok" });
    const missed = { title: "Missed audio call", body: "You missed a call from alice" };
    const missedOn = () => ({
      iphone: providers.apnsTo(phones.bobIphone).filter((push) => (push.payload as Payload).category === "missed_call"),
      pixel: providers.fcmTo(phones.bobPixel).filter((sent) => dataOf(sent).category === "missed_call"),
    });
    await eventually(async () => (missedOn().iphone.length > 0 && missedOn().pixel.length > 0 ? true : undefined), 20_000, "the missed call's pushes");
    expect(missedOn().iphone).toEqual([expect.objectContaining({ status: 200, topic: BUNDLE_ID, pushType: "alert", payload: expect.objectContaining({ aps: expect.objectContaining({ alert: missed }), callId }) })]);
    expect(missedOn().pixel).toEqual([expect.objectContaining({ status: 200, message: expect.objectContaining({ notification: missed }) })]);
    expect(providers.apnsTo(phones.bobVoip)).toHaveLength(1);
    expect(providers.fcmTo(phones.alicePixel)).toEqual([]);
  });

  it("an acknowledged push is NotificationDelivered, answered once recorded; a repeat is fine; another's or an unknown one is not_found", async () => {
    // The iPhone acknowledges on its socket (device and channel from the socket), the Android phone over REST.
    const iphone = await listen(await connect("bob", { device_id: "bob-iphone", platform: "ios" }), "user:bob", []);
    const ack = (payload: Payload) => pushTo(iphone.channel, "notification:ack", payload);
    expect(await ack({ notificationId: messageNotificationId })).toEqual({ status: "ok", response: {} });
    expect(await ack({ notificationId: messageNotificationId })).toEqual({ status: "ok", response: {} });
    expect(await ack({ notificationId: `message:${conversationId}:999:bob` })).toMatchObject({ status: "error", response: { reason: "not_found" } });

    const restAck = (user: string, notificationId: string) => api(user, "POST", `/api/notifications/${encodeURIComponent(notificationId)}/ack`, { channel: "fcm", deviceId: "bob-pixel" });
    expect(await restAck("bob", messageNotificationId)).toEqual({ status: 200, body: { notificationId: messageNotificationId } });
    expect(await restAck("bob", messageNotificationId)).toEqual({ status: 200, body: { notificationId: messageNotificationId } });
    expect(await restAck("alice", messageNotificationId)).toMatchObject({ status: 404, body: { error: "Not Found" } });
    expect(await restAck("bob", "message:nowhere:1:bob")).toMatchObject({ status: 404, body: { error: "Not Found" } });

    // Answered once recorded: the events are on Kafka by now, one per device, the repeats none.
    const delivered = (await readTopic(config, prefix + TOPICS.notifications.events, codec)).filter((record) => record.fullName === "quikchat.notifications.NotificationDelivered");
    expect(delivered.map((record) => record.value)).toEqual([
      expect.objectContaining({ userId: "bob", notificationId: messageNotificationId, channel: "apns", deviceId: "bob-iphone" }),
      expect.objectContaining({ userId: "bob", notificationId: messageNotificationId, channel: "fcm", deviceId: "bob-pixel" }),
    ]);
  });
});
