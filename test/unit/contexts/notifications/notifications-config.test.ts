import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/contexts/index.js";

const APNS = { APNS_KEY_ID: "ABC123DEFG", APNS_TEAM_ID: "TEAM123456", APNS_KEY_PATH: "/keys/AuthKey.p8", APNS_BUNDLE_ID: "com.example.chat", APNS_ENVIRONMENT: "sandbox" };

describe("the notifications configuration", () => {
  it("leaves every provider off without settings, and retries five times from 1 s", () => {
    expect(loadConfig({}).notifications).toMatchObject({ apns: undefined, fcm: undefined, email: undefined, maxAttempts: 5, retryBaseMs: 1_000, retryMaxMs: 60_000 });
  });

  it("takes APNs' five settings, with a base URL and CA for another server", () => {
    expect(loadConfig({ ...APNS, APNS_BASE_URL: "https://localhost:8443", APNS_CA_PATH: "/ca.pem" }).notifications.apns).toEqual({
      keyId: "ABC123DEFG",
      teamId: "TEAM123456",
      keyPath: "/keys/AuthKey.p8",
      bundleId: "com.example.chat",
      environment: "sandbox",
      baseUrl: "https://localhost:8443",
      caPath: "/ca.pem",
    });
  });

  it("names the APNs settings missing from a partial set, and refuses malformed ids and environments", () => {
    expect(() => loadConfig({ APNS_KEY_ID: "ABC123DEFG" })).toThrow(/APNS_TEAM_ID, APNS_KEY_PATH, APNS_BUNDLE_ID, APNS_ENVIRONMENT: required/);
    expect(() => loadConfig({ ...APNS, APNS_KEY_ID: "short", APNS_ENVIRONMENT: "staging" })).toThrow(/APNS_KEY_ID[^]*APNS_ENVIRONMENT/);
  });

  it("takes FCM's key file with an optional project and base URL; either alone is refused", () => {
    expect(loadConfig({ FIREBASE_SERVICE_ACCOUNT: "/keys/sa.json", FCM_BASE_URL: "http://127.0.0.1:9099" }).notifications.fcm).toEqual({ serviceAccountPath: "/keys/sa.json", baseUrl: "http://127.0.0.1:9099" });
    expect(() => loadConfig({ FIREBASE_PROJECT_ID: "my-project" })).toThrow(/FIREBASE_SERVICE_ACCOUNT: required/);
  });

  it("takes each mail relay with its credentials, and names what a relay lacks", () => {
    expect(loadConfig({ EMAIL_PROVIDER: "smtp", EMAIL_FROM: "QuikChat <no-reply@example.com>", SMTP_HOST: "mail.example.com" }).notifications.email).toEqual({
      provider: "smtp",
      from: "QuikChat <no-reply@example.com>",
      host: "mail.example.com",
      port: 587,
      secure: false,
      requireTls: false,
    });
    expect(() => loadConfig({ EMAIL_PROVIDER: "sendgrid" })).toThrow(/EMAIL_FROM: required[^]*SENDGRID_API_KEY: required/);
    expect(() => loadConfig({ EMAIL_PROVIDER: "ses", EMAIL_FROM: "a@example.com", SES_ACCESS_KEY_ID: "AKIA" })).toThrow(/AWS_REGION[^]*SES_ACCESS_KEY_ID, SES_SECRET_ACCESS_KEY: set both/);
    expect(() => loadConfig({ SMTP_HOST: "mail.example.com" })).toThrow(/EMAIL_PROVIDER: required/);
  });

  it("refuses a retry budget that contradicts itself", () => {
    expect(() => loadConfig({ NOTIFY_RETRY_BASE_MS: "5000", NOTIFY_RETRY_MAX_MS: "1000" })).toThrow(/NOTIFY_RETRY_MAX_MS/);
    expect(() => loadConfig({ NOTIFY_MAX_ATTEMPTS: "0" })).toThrow(/NOTIFY_MAX_ATTEMPTS/);
  });
});
