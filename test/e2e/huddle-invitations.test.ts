import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { PresenceReadModel } from "../../src/contexts/presence/projections/presence/presence-read-model.js";
import { arrives, listen } from "../support/channel-inbox.js";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { readTopic } from "../support/processor-harness.js";
import { apnsDeviceToken, startPushStandIns, type PushStandIns } from "../support/push-stand-ins.js";
import { startService, stopService, type ServiceProcess } from "../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const INVITATION_EVENTS = ["huddle:invited", "huddle_invited"];
/** Everything a user channel may push, to see that a stranger gets nothing. */
const USER_EVENTS = [...INVITATION_EVENTS, "notification"];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Invitations to a huddle through the whole service with stock phoenix clients and the APNs and
 * FCM stand-ins: `huddle:invite` on `huddle:{id}` → the huddles processor → the live-huddles
 * projection → `huddle:invited` / `huddle_invited` on the invitee's `user:{userId}`; and the
 * notification policy → `RequestNotification` `huddle_invite` → the notifier → one APNs alert to
 * the iPhone of an invitee who has no socket.
 */
describe("huddle invitations, end to end", () => {
  const prefix = uniquePrefix("invites");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
  const logger = testLogger();
  const redis = createRedis(config.redis.url, logger, { name: "huddle-invitations-e2e" });
  const presence = new PresenceReadModel(redis, prefix);
  const sockets: Socket[] = [];
  let standIns: PushStandIns;
  let service: ServiceProcess;
  let base: string;
  let codec: AvroCodec;

  beforeAll(async () => {
    standIns = await startPushStandIns("invites");
    ({ service, base } = await startService("invites", { KAFKA_TOPIC_PREFIX: prefix, ...standIns.env }));
    codec = (await bootstrapContract(config, logger)).codec;
  }, 150_000);

  afterAll(async () => {
    await stopService(service, sockets);
    await standIns?.close();
    await redis.quit();
  });

  async function connect(user: string): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user) });
    sockets.push(socket);
    return socket;
  }

  async function api(user: string, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(user)}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Payload };
  }

  const huddleRequests = async (huddleId: string): Promise<Payload[]> =>
    (await readTopic(config, prefix + TOPICS.notifications.commands, codec)).filter((record) => record.fullName === "quikchat.notifications.RequestNotification" && record.value?.huddleId === huddleId).map((record) => record.value!);

  it("tells an invitee with only user:{id} joined once, who then joins the huddle; tells a stranger nothing; pushes one APNs alert to an invitee without a socket", async () => {
    // Erin has an iPhone and no socket by the time she is invited; the workspace knows her from her last connection.
    const erinToken = apnsDeviceToken();
    const registered = await api("erin", "POST", "/api/devices", { deviceId: "erin-iphone", platform: "ios", pushToken: erinToken, pushProvider: "apns" });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const erinSocket = await connect("erin");
    await joinChannel(erinSocket.channel("user:erin", {}));
    await eventually(async () => ((await presence.connected("erin", Date.now())) ? true : undefined), 20_000, "erin's socket in presence");
    erinSocket.disconnect();
    await eventually(async () => ((await presence.connected("erin", Date.now())) ? undefined : true), 20_000, "erin without a socket");

    const bobSocket = await connect("bob");
    const bob = await listen(bobSocket, "user:bob", USER_EVENTS);
    const mallory = await listen(await connect("mallory"), "user:mallory", USER_EVENTS);
    await eventually(async () => ((await presence.connected("bob", Date.now())) ? true : undefined), 20_000, "bob's socket in presence");

    const started = await api("alice", "POST", "/api/huddles", { inviteeIds: ["bob"], title: "Design review" });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const huddleId = String(started.body.huddleId);
    const invitation = { huddleId, conversationId: null, invitedBy: "alice", title: "Design review" };
    expect(await arrives(bob.inbox, "huddle:invited", { huddleId })).toEqual(invitation);
    expect(await arrives(bob.inbox, "huddle_invited", { huddleId })).toEqual(invitation);

    // Alice, in it over REST, invites erin later.
    const invited = await api("alice", "POST", `/api/huddles/${huddleId}/invite`, { userIds: ["erin"] });
    expect(invited).toEqual({ status: 200, body: { huddleId, invited: ["erin"] } });
    const alert = await eventually(async () => standIns.apns.received.find((push) => push.token === erinToken), 30_000, "erin's APNs alert");
    expect(alert).toMatchObject({
      status: 200,
      pushType: "alert",
      collapseId: `huddle:${huddleId}`,
      payload: { aps: { alert: { title: "alice invited you to a huddle", body: "Design review" } }, category: "huddle_invite", huddleId },
    });

    // Bob joins the huddle he was told of.
    const joined = await listen(bobSocket, `huddle:${huddleId}`, []);
    expect(joined.channel.state).toBe("joined");
    expect((await api("bob", "GET", `/api/huddles/${huddleId}`)).body.participants).toEqual(expect.arrayContaining([expect.objectContaining({ userId: "bob" })]));

    // Once each, nothing to the stranger, no push to bob (he had a socket), one to erin.
    await pause(1_500);
    expect(bob.inbox.filter(({ event }) => INVITATION_EVENTS.includes(event))).toHaveLength(2);
    expect(mallory.inbox).toEqual([]);
    expect((await huddleRequests(huddleId)).map((request) => [request.userId, request.category])).toEqual([["erin", "huddle_invite"]]);
    expect(standIns.apns.received.filter((push) => push.token === erinToken)).toHaveLength(1);
    await pushTo(joined.channel, "huddle:leave", {});
  });
});
