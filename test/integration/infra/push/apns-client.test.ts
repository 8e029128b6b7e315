import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApnsClient, type ApnsClientOptions } from "../../../../src/infra/apns/apns-client.js";
import { ApnsKeyError } from "../../../../src/infra/apns/apns-provider-token.js";
import type { PushSender } from "../../../../src/platform/notifications/push-sender.js";
import { providerTokenClaims, startApnsStandIn, type ApnsStandIn } from "../../../support/apns-stand-in.js";
import { STAND_IN_CERT } from "../../../support/test-tls.js";
import { freePort } from "../../../support/service-process.js";

const keyPair = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const team = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const pkcs8 = (pair: ReturnType<typeof keyPair>) => pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const deviceToken = () => randomBytes(32).toString("hex");

const KEY_ID = "ABC123DEFG";
const TEAM_ID = "TEAM123456";
const BUNDLE_ID = "com.quikchat.test";

describe("the APNs client against an HTTP/2 server playing APNs", () => {
  /** One clock for the client and the stand-in, moved by the tests. */
  let clock = Date.now();
  const now = () => clock;
  let apns: ApnsStandIn;
  const clients: PushSender[] = [];

  const client = async (overrides: Partial<ApnsClientOptions> = {}): Promise<PushSender> => {
    const opened = await openApnsClient({ keyId: KEY_ID, teamId: TEAM_ID, privateKey: pkcs8(team), bundleId: BUNDLE_ID, environment: "sandbox", baseUrl: apns.url, ca: STAND_IN_CERT, now, ...overrides });
    clients.push(opened);
    return opened;
  };
  const pushesTo = (token: string) => apns.received.filter((push) => push.token === token);

  beforeAll(async () => {
    apns = await startApnsStandIn({ publicKey: team.publicKey, keyId: KEY_ID, teamId: TEAM_ID, bundleId: BUNDLE_ID, now });
  });

  afterAll(async () => {
    await Promise.all(clients.map((opened) => opened.close()));
    await apns.close();
  });

  it("delivers an alert with the headers and payload APNs expects, signed with the team's key", async () => {
    const sender = await client();
    const token = deviceToken();
    const expiresAt = new Date(clock + 3_600_000);
    const result = await sender.send({
      token,
      kind: "alert",
      alert: { title: "Ada", body: "lunch?" },
      badge: 3,
      sound: "default",
      threadId: "conv-1",
      collapseId: "conv-1",
      expiresAt,
      data: { conversationId: "conv-1" },
    });

    expect(result).toMatchObject({ outcome: "delivered", id: expect.stringMatching(/^[0-9A-F-]{36}$/) });
    const [push] = pushesTo(token);
    expect(push).toMatchObject({
      status: 200,
      topic: BUNDLE_ID,
      pushType: "alert",
      priority: "10",
      collapseId: "conv-1",
      expiration: String(Math.floor(expiresAt.getTime() / 1000)),
      payload: { conversationId: "conv-1", aps: { alert: { title: "Ada", body: "lunch?" }, badge: 3, sound: "default", "thread-id": "conv-1" } },
    });
    const { header, claims } = providerTokenClaims(push!.jwt!);
    expect(header).toEqual({ alg: "ES256", kid: KEY_ID });
    expect(claims).toEqual({ iss: TEAM_ID, iat: Math.floor(clock / 1000) });
  });

  it("sends a VoIP push on the bundle's .voip topic, and a silent one at priority 5", async () => {
    const sender = await client();
    const phone = deviceToken();
    expect(await sender.send({ token: phone, kind: "voip", data: { callId: "call-1" } })).toMatchObject({ outcome: "delivered" });
    expect(await sender.send({ token: phone, kind: "background", badge: 0 })).toMatchObject({ outcome: "delivered" });

    expect(pushesTo(phone).map(({ topic, pushType, priority, payload }) => ({ topic, pushType, priority, payload }))).toEqual([
      { topic: `${BUNDLE_ID}.voip`, pushType: "voip", priority: "10", payload: { callId: "call-1", aps: {} } },
      { topic: BUNDLE_ID, pushType: "background", priority: "5", payload: { aps: { "content-available": 1, badge: 0 } } },
    ]);
  });

  it("reuses one provider token and one connection for many pushes, until the token is 50 minutes old", async () => {
    const sender = await client();
    const tokensBefore = apns.providerTokens.length;
    const sessionsBefore = apns.sessions();
    const phones = Array.from({ length: 12 }, deviceToken);

    const results = await Promise.all(phones.map((token) => sender.send({ token, kind: "alert", alert: { body: "hi" } })));
    clock += 25 * 60_000;
    await sender.send({ token: phones[0]!, kind: "alert", alert: { body: "still the same token" } });

    expect(results.every((result) => result.outcome === "delivered")).toBe(true);
    expect(apns.providerTokens.length - tokensBefore).toBe(1);
    expect(apns.sessions() - sessionsBefore).toBe(1);

    clock += 26 * 60_000;
    expect(await sender.send({ token: phones[0]!, kind: "alert", alert: { body: "a new token" } })).toMatchObject({ outcome: "delivered" });
    expect(apns.providerTokens.length - tokensBefore).toBe(2);
    const [first, second] = pushesTo(phones[0]!).slice(-2).map((push) => providerTokenClaims(push.jwt!).claims.iat!);
    expect(second! - first!).toBe(51 * 60);
  });

  it("reports a token APNs no longer knows as dead, with the time it stopped being valid", async () => {
    const sender = await client();
    const gone = deviceToken();
    const at = new Date(clock - 60_000);
    apns.unregister(gone, at);

    expect(await sender.send({ token: gone, kind: "alert", alert: { body: "anyone?" } })).toEqual({ outcome: "token_dead", status: 410, reason: "Unregistered", since: at });
    expect(await sender.send({ token: "not-a-device-token", kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "token_dead", status: 400, reason: "BadDeviceToken" });
  });

  it("signs a new provider token once when APNs calls the current one expired, and delivers", async () => {
    const sender = await client();
    const phone = deviceToken();
    await sender.send({ token: phone, kind: "alert", alert: { body: "one" } });
    clock += 5 * 60_000;
    apns.expireProviderTokens();

    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "two" } })).toMatchObject({ outcome: "delivered" });
    const answers = pushesTo(phone).map((push) => push.reason ?? push.status);
    expect(answers).toEqual([200, "ExpiredProviderToken", 200]);
    const jwts = pushesTo(phone).map((push) => push.jwt);
    expect(jwts[1]).toBe(jwts[0]);
    expect(jwts[2]).not.toBe(jwts[1]);
  });

  it("answers auth_failed for a key APNs does not know, re-signing once and not again before 20 minutes", async () => {
    const sender = await client({ privateKey: pkcs8(keyPair()) });
    const phone = deviceToken();

    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "hello" } })).toEqual({ outcome: "auth_failed", status: 403, reason: "InvalidProviderToken" });
    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "hello again" } })).toEqual({ outcome: "auth_failed", status: 403, reason: "InvalidProviderToken" });
    clock += 21 * 60_000;
    await sender.send({ token: phone, kind: "alert", alert: { body: "later" } });

    const jwts = pushesTo(phone).map((push) => push.jwt);
    expect(pushesTo(phone).every((push) => push.reason === "InvalidProviderToken")).toBe(true);
    // first push: the token and its one replacement; second: the replacement only; 21 minutes later: one more replacement.
    expect(jwts).toHaveLength(5);
    expect(new Set(jwts).size).toBe(3);
    expect(jwts[2]).toBe(jwts[1]);
  });

  it("asks to retry later on 429 and 5xx, with the wait Retry-After gives", async () => {
    const sender = await client();
    const phone = deviceToken();
    apns.answerNext(phone, { status: 429, reason: "TooManyRequests", headers: { "retry-after": "30" } });
    apns.answerNext(phone, { status: 503, reason: "ServiceUnavailable" });

    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "a" } })).toEqual({ outcome: "retry_later", status: 429, reason: "TooManyRequests", retryAfterMs: 30_000 });
    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "b" } })).toEqual({ outcome: "retry_later", status: 503, reason: "ServiceUnavailable" });
    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "c" } })).toMatchObject({ outcome: "delivered" });
  });

  it("passes other refusals on with APNs' reason, and refuses a payload over 4 KB without sending it", async () => {
    const sender = await client();
    const phone = deviceToken();
    apns.answerNext(phone, { status: 400, reason: "BadCollapseId" });

    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "x" }, collapseId: "c" })).toEqual({ outcome: "refused", status: 400, reason: "BadCollapseId" });
    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "x".repeat(5000) } })).toEqual({ outcome: "refused", status: 413, reason: "PayloadTooLarge" });
    expect(pushesTo(phone)).toHaveLength(1);
  });

  it("opens a new connection after APNs closes the current one", async () => {
    const sender = await client();
    const phone = deviceToken();
    await sender.send({ token: phone, kind: "alert", alert: { body: "before" } });
    const sessionsBefore = apns.sessions();
    await apns.dropSessions();

    expect(await sender.send({ token: phone, kind: "alert", alert: { body: "after" } })).toMatchObject({ outcome: "delivered" });
    expect(apns.sessions()).toBe(sessionsBefore + 1);
  });

  it("asks to retry later when APNs cannot be reached or its certificate is not trusted", async () => {
    const nowhere = await client({ baseUrl: `https://localhost:${await freePort()}` });
    const untrusting = await openApnsClient({ keyId: KEY_ID, teamId: TEAM_ID, privateKey: pkcs8(team), bundleId: BUNDLE_ID, environment: "sandbox", baseUrl: apns.url, now });
    clients.push(untrusting);

    expect(await nowhere.send({ token: deviceToken(), kind: "alert", alert: { body: "x" } })).toMatchObject({ outcome: "retry_later", reason: "ECONNREFUSED" });
    expect(await untrusting.send({ token: deviceToken(), kind: "alert", alert: { body: "x" } })).toMatchObject({ outcome: "retry_later", reason: expect.stringMatching(/CERT|SELF_SIGNED/) });
  });

  it("refuses a signing key or ids it cannot use, naming the setting", async () => {
    await expect(openApnsClient({ keyId: KEY_ID, teamId: TEAM_ID, privateKey: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", bundleId: BUNDLE_ID, environment: "sandbox" })).rejects.toThrow(ApnsKeyError);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await expect(openApnsClient({ keyId: KEY_ID, teamId: TEAM_ID, privateKey: rsa, bundleId: BUNDLE_ID, environment: "sandbox" })).rejects.toThrow(/APNS_KEY_PATH/);
    await expect(openApnsClient({ keyId: "short", teamId: TEAM_ID, privateKey: pkcs8(team), bundleId: BUNDLE_ID, environment: "sandbox" })).rejects.toThrow(/APNS_KEY_ID/);
  });
});
