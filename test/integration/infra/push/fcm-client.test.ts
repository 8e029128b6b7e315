import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFcmClient, type FcmClientOptions } from "../../../../src/infra/fcm/fcm-client.js";
import { parseServiceAccount, ServiceAccountError, type ServiceAccount } from "../../../../src/infra/fcm/service-account.js";
import type { PushSender } from "../../../../src/platform/notifications/push-sender.js";
import { fcmErrorBody, startFcmStandIn, type FcmStandIn } from "../../../support/fcm-stand-in.js";
import { freePort } from "../../../support/service-process.js";

const PROJECT = "quikchat-test";
const EMAIL = "notifier@quikchat-test.iam.gserviceaccount.com";
const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const account = rsa();
const pkcs8 = (pair: ReturnType<typeof rsa>) => pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const registrationToken = () => `${randomBytes(11).toString("base64url")}:APA91b${randomBytes(100).toString("base64url")}`;

/** A key file as the Firebase console downloads it. */
const keyFile = (fields: Record<string, unknown>): string =>
  JSON.stringify({ type: "service_account", project_id: PROJECT, private_key_id: "0123abcd", private_key: pkcs8(account), client_email: EMAIL, auth_uri: "https://accounts.google.com/o/oauth2/auth", ...fields });

describe("the FCM client against an HTTP server playing Google's token endpoint and FCM HTTP v1", () => {
  let clock = Date.now();
  const now = () => clock;
  let fcm: FcmStandIn;
  let serviceAccount: ServiceAccount;
  const clients: PushSender[] = [];

  const client = async (overrides: Partial<FcmClientOptions> = {}): Promise<PushSender> => {
    const opened = await openFcmClient({ serviceAccount, baseUrl: fcm.url, now, ...overrides });
    clients.push(opened);
    return opened;
  };
  const sendsTo = (token: string) => fcm.received.filter((sent) => sent.message?.token === token);

  beforeAll(async () => {
    fcm = await startFcmStandIn({ clientEmail: EMAIL, publicKey: account.publicKey, projectId: PROJECT, now });
    serviceAccount = parseServiceAccount(keyFile({ token_uri: fcm.tokenUri }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((opened) => opened.close()));
    await fcm.close();
  });

  it("delivers a notification message, authenticated by an access token obtained from the account's token_uri", async () => {
    const sender = await client();
    const token = registrationToken();
    const result = await sender.send({
      token,
      kind: "alert",
      alert: { title: "Ada", body: "lunch?" },
      badge: 2,
      sound: "default",
      threadId: "conv-1",
      collapseId: "conv-1",
      expiresAt: new Date(clock + 120_000),
      data: { conversationId: "conv-1" },
    });

    expect(result).toEqual({ outcome: "delivered", id: expect.stringMatching(new RegExp(`^projects/${PROJECT}/messages/`)) });
    expect(sendsTo(token)).toEqual([
      {
        project: PROJECT,
        accessToken: fcm.accessTokens.at(-1),
        status: 200,
        receivedAt: expect.any(Number),
        message: {
          token,
          notification: { title: "Ada", body: "lunch?" },
          data: { conversationId: "conv-1" },
          android: { priority: "HIGH", ttl: "120s", collapse_key: "conv-1", notification: { tag: "conv-1", sound: "default", notification_count: 2 } },
        },
      },
    ]);
    expect(fcm.assertions.at(-1)).toEqual({
      iss: EMAIL,
      scope: "https://www.googleapis.com/auth/firebase.messaging",
      aud: fcm.tokenUri,
      iat: Math.floor(clock / 1000),
      exp: Math.floor(clock / 1000) + 3600,
    });
  });

  it("sends an incoming call as a high-priority data message, and a silent push at normal priority", async () => {
    const sender = await client();
    const token = registrationToken();
    await sender.send({ token, kind: "voip", data: { callId: "call-1" } });
    await sender.send({ token, kind: "background", badge: 4 });

    expect(sendsTo(token).map((sent) => sent.message)).toEqual([
      { token, data: { callId: "call-1" }, android: { priority: "HIGH" } },
      { token, data: { badge: "4" }, android: { priority: "NORMAL" } },
    ]);
  });

  it("reuses one access token until shortly before it expires", async () => {
    const sender = await client();
    const issuedBefore = fcm.accessTokens.length;
    const tokens = Array.from({ length: 10 }, registrationToken);

    const results = await Promise.all(tokens.map((token) => sender.send({ token, kind: "alert", alert: { body: "hi" } })));
    clock += 50 * 60_000;
    await sender.send({ token: tokens[0]!, kind: "alert", alert: { body: "50 minutes later" } });
    expect(results.every((result) => result.outcome === "delivered")).toBe(true);
    expect(fcm.accessTokens.length - issuedBefore).toBe(1);

    clock += 6 * 60_000;
    expect(await sender.send({ token: tokens[0]!, kind: "alert", alert: { body: "56 minutes later" } })).toMatchObject({ outcome: "delivered" });
    expect(fcm.accessTokens.length - issuedBefore).toBe(2);
    expect(sendsTo(tokens[0]!).map((sent) => sent.status)).toEqual([200, 200, 200]);
  });

  it("reports unregistered tokens and tokens of another sender as dead", async () => {
    const sender = await client();
    const gone = registrationToken();
    const foreign = registrationToken();
    fcm.unregister(gone);
    fcm.belongsElsewhere(foreign);

    expect(await sender.send({ token: gone, kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "token_dead", status: 404, reason: "UNREGISTERED" });
    expect(await sender.send({ token: foreign, kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "token_dead", status: 403, reason: "SENDER_ID_MISMATCH" });
  });

  it("takes a new access token once when FCM answers 401, and delivers", async () => {
    const sender = await client();
    const token = registrationToken();
    await sender.send({ token, kind: "alert", alert: { body: "one" } });
    const issuedBefore = fcm.accessTokens.length;
    fcm.revokeAccessTokens();

    expect(await sender.send({ token, kind: "alert", alert: { body: "two" } })).toMatchObject({ outcome: "delivered" });
    expect(sendsTo(token).map((sent) => sent.status)).toEqual([200, 401, 200]);
    expect(fcm.accessTokens.length - issuedBefore).toBe(1);
  });

  it("answers auth_failed when the token endpoint refuses an assertion signed with a foreign key", async () => {
    const impostor = parseServiceAccount(keyFile({ token_uri: fcm.tokenUri, private_key: pkcs8(rsa()) }));
    const sender = await client({ serviceAccount: impostor });
    const token = registrationToken();

    expect(await sender.send({ token, kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "auth_failed", status: 400, reason: "token endpoint: invalid_grant" });
    expect(fcm.refusedAssertions.at(-1)).toBe("invalid_grant");
    expect(sendsTo(token)).toEqual([]);
  });

  it("asks to retry later on 429 and 5xx, with the wait Retry-After gives", async () => {
    const sender = await client();
    const token = registrationToken();
    fcm.answerNext(token, { status: 429, body: fcmErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED"), headers: { "retry-after": "17" } });
    fcm.answerNext(token, { status: 503, body: fcmErrorBody(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE") });

    expect(await sender.send({ token, kind: "alert", alert: { body: "a" } })).toEqual({ outcome: "retry_later", status: 429, reason: "QUOTA_EXCEEDED", retryAfterMs: 17_000 });
    expect(await sender.send({ token, kind: "alert", alert: { body: "b" } })).toEqual({ outcome: "retry_later", status: 503, reason: "UNAVAILABLE" });
    expect(await sender.send({ token, kind: "alert", alert: { body: "c" } })).toMatchObject({ outcome: "delivered" });
  });

  it("passes other refusals on with FCM's error code, and a project the account may not send for as auth_failed", async () => {
    const sender = await client();
    const token = registrationToken();
    fcm.answerNext(token, { status: 400, body: fcmErrorBody(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", "INVALID_ARGUMENT") });
    const otherProject = await client({ projectId: "someone-elses" });

    expect(await sender.send({ token, kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "refused", status: 400, reason: "INVALID_ARGUMENT" });
    expect(await otherProject.send({ token, kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "auth_failed", status: 403, reason: "PERMISSION_DENIED" });
  });

  it("asks to retry later when the token endpoint or FCM cannot be reached", async () => {
    const port = await freePort();
    const noTokens = await client({ serviceAccount: { ...serviceAccount, tokenUri: `http://127.0.0.1:${port}/token` } });
    const noFcm = await client({ baseUrl: `http://127.0.0.1:${port}` });

    expect(await noTokens.send({ token: registrationToken(), kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "retry_later", reason: "token endpoint: ECONNREFUSED" });
    expect(await noFcm.send({ token: registrationToken(), kind: "alert", alert: { body: "x" } })).toEqual({ outcome: "retry_later", reason: "ECONNREFUSED" });
  });

  it("refuses a key file it cannot use, naming the field", async () => {
    expect(() => parseServiceAccount("{nope")).toThrow(ServiceAccountError);
    expect(() => parseServiceAccount(keyFile({ client_email: undefined }))).toThrow(/"client_email"/);
    expect(() => parseServiceAccount(keyFile({ type: "authorized_user" }))).toThrow(/"type"/);
    expect(parseServiceAccount(keyFile({ token_uri: undefined })).tokenUri).toBe("https://oauth2.googleapis.com/token");
    await expect(openFcmClient({ serviceAccount: parseServiceAccount(keyFile({ private_key: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----" })) })).rejects.toThrow(/"private_key"/);
  });
});
