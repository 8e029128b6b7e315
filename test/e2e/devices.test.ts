import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Payload } from "../support/phoenix-client.js";
import { restClient, startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";

const APNS = "0a".repeat(32);
const APNS_2 = "1b".repeat(32);
const VOIP = "2c".repeat(32);
const FCM = (n: number | string) => `dK3x${n}:APA91bH${"Kq9_-".repeat(30)}`;

/**
 * Devices over REST (`/api/devices`) against the whole service: registration of an iPhone's two
 * tokens and of an Android phone, the list, heartbeats, token updates, removal, the eleventh
 * device's eviction, someone else's device id, malformed bodies and tokens; and a member's mute
 * of a conversation (`/api/conversations/:id/notifications`), the setting the notifier reads.
 */
describe("devices and conversation mutes over REST, end to end", () => {
  let service: ServiceProcess;
  let api: ReturnType<typeof restClient>;

  beforeAll(async () => {
    let base: string;
    ({ service, base } = await startService("devices"));
    api = restClient(base);
  }, 150_000);

  afterAll(async () => {
    service.child.kill("SIGTERM");
    await service.exited;
  });

  /** `user`'s devices once the list shows `ids`, in registration order. */
  const listed = (user: string, ids: string[]) =>
    eventually(async () => {
      const { body } = await api(user, "GET", "/api/devices");
      const devices = body.devices as Payload[];
      return devices.map((device) => device.deviceId).join() === ids.join() ? devices : undefined;
    }, 20_000, `${user}'s devices ${ids.join()}`);

  it("registers an iPhone's alert and VoIP tokens and an Android phone, lists them, updates a token, records a heartbeat, deletes one", async () => {
    const iphone = await api("alice", "POST", "/api/devices", { deviceId: "alice-iphone", platform: "ios", pushToken: APNS, pushProvider: "apns", appVersion: "5.0.1", locale: "fr-FR" });
    expect(iphone).toMatchObject({ status: 201, body: { device: { deviceId: "alice-iphone", platform: "ios", pushProvider: "apns", pushToken: APNS, voipToken: null, appVersion: "5.0.1", locale: "fr-FR" }, removed: [] } });
    const voip = await api("alice", "POST", "/api/devices", { deviceId: "alice-iphone", platform: "ios", pushToken: VOIP, pushProvider: "apns_voip" });
    expect(voip).toMatchObject({ status: 200, body: { device: { pushToken: APNS, voipToken: VOIP, locale: "fr-FR" } } });

    // No deviceId: the server chooses one.
    const android = await api("alice", "POST", "/api/devices", { platform: "android", pushToken: FCM("a"), pushProvider: "fcm" });
    expect(android).toMatchObject({ status: 201, body: { device: { platform: "android", pushProvider: "fcm", pushToken: FCM("a"), voipToken: null } } });
    const androidId = String((android.body.device as Payload).deviceId);
    expect(androidId).toMatch(/^[0-9a-f-]{36}$/);

    const [listedIphone] = await listed("alice", ["alice-iphone", androidId]);
    expect(listedIphone).toMatchObject({ pushToken: APNS, voipToken: VOIP, pushProvider: "apns" });

    const seen = await api("alice", "POST", `/api/devices/${androidId}/heartbeat`);
    expect(seen.status).toBe(200);
    const seenAt = (seen.body.device as Payload).lastSeenAt as number;
    expect(seenAt).toBeGreaterThan((android.body.device as Payload).lastSeenAt as number);

    const updated = await api("alice", "PUT", "/api/devices/alice-iphone/token", { pushToken: APNS_2 });
    expect(updated).toMatchObject({ status: 200, body: { device: { pushToken: APNS_2, voipToken: VOIP } } });
    // The device's service is APNs: an FCM token does not fit it.
    expect(await api("alice", "PUT", "/api/devices/alice-iphone/token", { pushToken: FCM("x") })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/hexadecimal/) } });

    expect((await api("alice", "DELETE", `/api/devices/${androidId}`)).status).toBe(204);
    expect((await api("alice", "DELETE", `/api/devices/${androidId}`)).status).toBe(404);
    const [remaining] = await listed("alice", ["alice-iphone"]);
    expect(remaining).toMatchObject({ pushToken: APNS_2, voipToken: VOIP });
  });

  it("evicts the least recently seen device when an eleventh registers", async () => {
    for (let n = 0; n < 10; n += 1) expect((await api("carol", "POST", "/api/devices", { deviceId: `c${n}`, platform: "android", pushToken: FCM(n), pushProvider: "fcm" })).status).toBe(201);
    // c0 is the oldest registration, but seen again since: c1 is the least recently seen.
    expect((await api("carol", "POST", "/api/devices/c0/heartbeat")).status).toBe(200);
    const eleventh = await api("carol", "POST", "/api/devices", { deviceId: "c10", platform: "web", pushToken: FCM(10), pushProvider: "fcm" });
    expect(eleventh).toMatchObject({ status: 201, body: { device: { deviceId: "c10" }, removed: [{ deviceId: "c1", reason: "evicted" }] } });
    await listed("carol", ["c0", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"]);
  });

  it("answers someone else's device id 404, and shows nobody another's devices", async () => {
    expect((await api("bob", "POST", "/api/devices", { deviceId: "bob-phone", platform: "android", pushToken: FCM("b"), pushProvider: "fcm" })).status).toBe(201);
    for (const [method, path, body] of [
      ["PUT", "/api/devices/bob-phone/token", { pushToken: FCM("m") }],
      ["DELETE", "/api/devices/bob-phone", undefined],
      ["POST", "/api/devices/bob-phone/heartbeat", undefined],
    ] as const) {
      expect((await api("mallory", method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    expect((await api("mallory", "GET", "/api/devices")).body).toEqual({ devices: [] });
    await listed("bob", ["bob-phone"]);
  });

  it("refuses malformed bodies and tokens with 400 and a reason", async () => {
    const valid = { platform: "ios", pushToken: APNS, pushProvider: "apns" };
    const cases: [unknown, RegExp][] = [
      [{ ...valid, pushToken: "abc" }, /pushToken: an APNs token is 64 to 200 hexadecimal digits/],
      [{ ...valid, pushToken: "g".repeat(64) }, /hexadecimal/],
      [{ ...valid, pushProvider: "fcm", pushToken: "short" }, /FCM registration token/],
      [{ ...valid, pushProvider: "fcm", pushToken: `${FCM(1)} ;drop` }, /FCM registration token/],
      [{ ...valid, pushProvider: "fcm", voipToken: VOIP, pushToken: FCM(1) }, /voipToken/],
      [{ ...valid, platform: "symbian" }, /platform/],
      [{ ...valid, pushProvider: "mpns" }, /pushProvider/],
      [{ platform: "ios", pushProvider: "apns" }, /pushToken/],
      [{ ...valid, deviceId: "../../etc" }, /deviceId/],
      [{ ...valid, locale: "not a locale" }, /locale/],
    ];
    for (const [body, reason] of cases) {
      const answer = await api("dave", "POST", "/api/devices", body);
      expect(answer, JSON.stringify(body)).toMatchObject({ status: 400, body: { message: expect.stringMatching(reason) } });
    }
    expect((await api("dave", "POST", "/api/devices", undefined, "{not json"))).toMatchObject({ status: 400 });
    expect((await api("dave", "PUT", "/api/devices/x/token", {}))).toMatchObject({ status: 400 });
    expect((await api("dave", "GET", "/api/devices")).body).toEqual({ devices: [] });
  });

  it("mutes a conversation for one member, until an instant or until unmuted, members only; leaving drops it", async () => {
    const created = await api("erin", "POST", "/api/conversations", { type: "group", members: ["frank"], name: "Mute me" });
    expect(created.status).toBe(201);
    const path = `/api/conversations/${String(created.body.id)}/notifications`;
    const id = String(created.body.id);

    expect(await api("frank", "GET", path)).toMatchObject({ status: 200, body: { conversationId: id, muted: false, until: null } });
    expect(await api("frank", "PUT", path, { muted: true })).toMatchObject({ status: 200, body: { conversationId: id, muted: true, until: null } });
    await eventually(async () => ((await api("frank", "GET", path)).body.muted === true ? true : undefined), 20_000, "frank's mute shown");
    // Only frank's: erin's setting is untouched.
    expect((await api("erin", "GET", path)).body).toMatchObject({ muted: false });

    const until = Date.now() + 3_600_000;
    expect(await api("erin", "PUT", path, { muted: true, until })).toMatchObject({ status: 200, body: { muted: true, until } });
    await eventually(async () => ((await api("erin", "GET", path)).body.until === until ? true : undefined), 20_000, "erin's mute until an hour from now");
    expect(await api("erin", "PUT", path, { muted: true, until: Date.now() - 1 })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/future/) } });
    expect(await api("erin", "PUT", path, { muted: false, until })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/until/) } });
    expect(await api("erin", "PUT", path, { muted: "yes" })).toMatchObject({ status: 400 });
    expect(await api("erin", "PUT", path, {})).toMatchObject({ status: 400 });

    // Not a member: 404 both ways, and for a conversation that does not exist.
    expect((await api("mallory", "GET", path)).status).toBe(404);
    expect((await api("mallory", "PUT", path, { muted: true })).status).toBe(404);
    expect((await api("mallory", "GET", "/api/conversations/no-such-conversation/notifications")).status).toBe(404);

    // frank leaves and comes back: his mute went with his membership.
    expect((await api("frank", "DELETE", `/api/conversations/${id}/members/frank`)).status).toBeLessThan(300);
    await eventually(async () => ((await api("frank", "GET", path)).status === 404 ? true : undefined), 20_000, "frank gone");
    expect((await api("erin", "POST", `/api/conversations/${id}/members`, { userId: "frank" })).status).toBeLessThan(300);
    const back = await eventually(async () => {
      const answer = await api("frank", "GET", path);
      return answer.status === 200 && answer.body.muted === false ? answer : undefined;
    }, 20_000, "frank back, not muted");
    expect(back.body).toEqual({ conversationId: id, muted: false, until: null });

    expect(await api("erin", "PUT", path, { muted: false })).toMatchObject({ status: 200, body: { muted: false, until: null } });
    await eventually(async () => ((await api("erin", "GET", path)).body.muted === false ? true : undefined), 20_000, "erin unmuted");
  });
});
