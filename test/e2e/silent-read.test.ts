import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen } from "../support/channel-inbox.js";
import { connectSocket, pushTo } from "../support/phoenix-client.js";
import { apnsDeviceToken, fcmRegistrationToken, startPushStandIns, type PushStandIns } from "../support/push-stand-ins.js";
import { startService, stopService, type ServiceProcess } from "../support/service-process.js";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const WINDOW_MS = 1_000;

/**
 * A conversation read on one device clears its notifications on the others, through the whole
 * service and the APNs/FCM stand-ins: bob, offline with an iPhone and an Android phone, is alerted
 * of alice's message on both; once he reads it on a socket, both get one silent push with the new
 * badge, and no alert.
 */
describe("a conversation read on one device, end to end", () => {
  const prefix = uniquePrefix("silent-read");
  const sockets: Socket[] = [];
  let standIns: PushStandIns;
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    standIns = await startPushStandIns("silent-read");
    ({ service, base } = await startService("silent-read", { KAFKA_TOPIC_PREFIX: prefix, NOTIFY_BATCH_WINDOW_MS: String(WINDOW_MS), ...standIns.env }));
  }, 150_000);

  afterAll(async () => {
    await stopService(service, sockets);
    await standIns?.close();
  });

  const api = async (user: string, method: string, path: string, body?: object) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${await tokenFor(user)}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("alerts bob's iPhone and Android phone, then clears both silently when he reads on his desktop", async () => {
    const iphoneToken = apnsDeviceToken();
    const pixelToken = fcmRegistrationToken();
    expect((await api("bob", "POST", "/api/devices", { platform: "ios", pushProvider: "apns", pushToken: iphoneToken })).status).toBe(201);
    expect((await api("bob", "POST", "/api/devices", { platform: "android", pushProvider: "fcm", pushToken: pixelToken })).status).toBe(201);
    const created = await api("alice", "POST", "/api/conversations", { type: "group", members: ["bob"], name: "Launch" });
    expect(created.status).toBe(201);
    const conversationId = String(created.body.id);

    const connect = async (user: string) => {
      const socket = connectSocket(base, { token: await tokenFor(user) });
      sockets.push(socket);
      return listen(socket, `chat:${conversationId}`, ["message:new"]);
    };
    const alice = await connect("alice");
    const sent = await pushTo(alice.channel, "message:send", { content: "ship it?" });
    expect(sent.status, JSON.stringify(sent.response)).toBe("ok");
    const seq = Number(sent.response.seq);

    const apnsTo = () => standIns.apns.received.filter((push) => push.token === iphoneToken);
    const fcmTo = () => standIns.fcm.received.filter((sent) => (sent.message as { token?: string } | undefined)?.token === pixelToken);
    await eventually(async () => (apnsTo().length === 1 && fcmTo().length === 1 ? true : undefined), 30_000, "bob's alerts");
    expect(apnsTo()[0]).toMatchObject({ status: 200, pushType: "alert", payload: { aps: { alert: { title: "Launch", body: "alice: ship it?" }, badge: 1 }, category: "new_message" } });
    expect(fcmTo()[0]).toMatchObject({ status: 200, message: { notification: { body: "alice: ship it?" } } });

    // Bob reads on his desktop (a socket on the conversation).
    const bob = await connect("bob");
    const read = await pushTo(bob.channel, "message:read", { seq });
    expect(read.status, JSON.stringify(read.response)).toBe("ok");

    await eventually(async () => (apnsTo().length === 2 && fcmTo().length === 2 ? true : undefined), 30_000, "bob's silent pushes");
    const silent = apnsTo()[1]!;
    expect(silent).toMatchObject({ status: 200, topic: standIns.bundleId, pushType: "background", priority: "5", payload: { aps: { "content-available": 1, badge: 0 }, category: "conversation_read", conversationId, readSeq: String(seq) } });
    const aps = (silent.payload as { aps: Record<string, unknown> }).aps;
    expect(aps.alert).toBeUndefined();
    expect(aps.sound).toBeUndefined();
    const data = fcmTo()[1]!.message!;
    expect(data).toMatchObject({ data: { category: "conversation_read", conversationId, readSeq: String(seq), badge: "0" }, android: { priority: "NORMAL" } });
    expect(data.notification).toBeUndefined();
    // One each, nothing more.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 2));
    expect(apnsTo()).toHaveLength(2);
    expect(fcmTo()).toHaveLength(2);
  }, 90_000);
});
