import { z } from "zod";
import { POLICY_VARIABLES, policySettings } from "./policy/policy-config.js";
import { defineSlice, optionalText, port, positiveInt, url, type SettingsOf } from "../../platform/config/config-slice.js";

/** Apple's ten-character ids of a signing key and of a team. */
const appleId = z.string().regex(/^[A-Z0-9]{10}$/, "must be Apple's 10-character id (capital letters and digits)").optional();
const flag = z.enum(["true", "false"]).optional();

/** The APNs settings: all of them or none (push to iOS off). */
const APNS_REQUIRED = ["APNS_KEY_ID", "APNS_TEAM_ID", "APNS_KEY_PATH", "APNS_BUNDLE_ID", "APNS_ENVIRONMENT"] as const;

/** How the notifier reaches APNs, when configured. */
export interface ApnsSettings {
  readonly keyId: string;
  readonly teamId: string;
  /** The `AuthKey_<keyId>.p8` file, read when the notifier starts. */
  readonly keyPath: string;
  readonly bundleId: string;
  readonly environment: "production" | "sandbox";
  readonly baseUrl?: string;
  /** A PEM file of certificates to trust besides the system's, for a `baseUrl` with its own certificate. */
  readonly caPath?: string;
}

/** How the notifier reaches FCM, when configured. */
export interface FcmSettings {
  /** The service account's key file, read when the notifier starts. */
  readonly serviceAccountPath: string;
  readonly projectId?: string;
  readonly baseUrl?: string;
}

/** Which relay carries mail, and how to reach it. */
export type EmailSettings =
  | { readonly provider: "smtp"; readonly from: string; readonly host: string; readonly port: number; readonly secure: boolean; readonly requireTls: boolean; readonly auth?: { readonly user: string; readonly pass: string } }
  | { readonly provider: "sendgrid"; readonly from: string; readonly apiKey: string }
  | { readonly provider: "mailgun"; readonly from: string; readonly user: string; readonly pass: string; readonly region: "us" | "eu" }
  | { readonly provider: "ses"; readonly from: string; readonly region: string; readonly endpoint?: string; readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } };

/** Every variable of the slice, validated. */
const VARIABLES = {
  ...POLICY_VARIABLES,
  APNS_KEY_ID: appleId,
  APNS_TEAM_ID: appleId,
  APNS_KEY_PATH: optionalText,
  APNS_BUNDLE_ID: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be the app's bundle id (com.example.app)").optional(),
  APNS_ENVIRONMENT: z.enum(["production", "sandbox"]).optional(),
  APNS_BASE_URL: url(["https:"]).optional(),
  APNS_CA_PATH: optionalText,
  FIREBASE_SERVICE_ACCOUNT: optionalText,
  FIREBASE_PROJECT_ID: z.string().regex(/^[a-z0-9-]+$/, "must be a Firebase project id (lowercase letters, digits, hyphens)").optional(),
  FCM_BASE_URL: url(["https:", "http:"]).optional(),
  EMAIL_PROVIDER: z.enum(["smtp", "sendgrid", "mailgun", "ses"]).optional(),
  EMAIL_FROM: optionalText,
  EMAIL_DELAY_MS: z.coerce.number().int().nonnegative().default(15 * 60_000),
  SMTP_HOST: optionalText,
  SMTP_PORT: port.optional(),
  SMTP_SECURE: flag,
  SMTP_REQUIRE_TLS: flag,
  SMTP_USER: optionalText,
  SMTP_PASSWORD: optionalText,
  SENDGRID_API_KEY: optionalText,
  MAILGUN_SMTP_USER: optionalText,
  MAILGUN_SMTP_PASSWORD: optionalText,
  MAILGUN_REGION: z.enum(["us", "eu"]).default("us"),
  AWS_REGION: optionalText,
  SES_ENDPOINT: url(["https:", "http:"]).optional(),
  SES_ACCESS_KEY_ID: optionalText,
  SES_SECRET_ACCESS_KEY: optionalText,
  NOTIFY_MAX_ATTEMPTS: positiveInt.max(20).default(5),
  NOTIFY_RETRY_BASE_MS: positiveInt.default(1_000),
  NOTIFY_RETRY_MAX_MS: positiveInt.default(60_000),
};

type Env = z.infer<z.ZodObject<typeof VARIABLES>>;

/**
 * The notifications context's configuration: the notification policy's timing, each provider's account (a provider whose settings
 * are absent is off), email, and the notifier's retry budget. Every variable is validated here;
 * the key files are read when the notifier starts, which fails naming the file it cannot use.
 */
export const notificationsConfig = defineSlice({
  name: "notifications",
  variables: VARIABLES,
  problems: (env) => {
    const problems: string[] = [];
    const apnsSet = APNS_REQUIRED.filter((name) => env[name] !== undefined);
    if (apnsSet.length > 0 && apnsSet.length < APNS_REQUIRED.length) {
      problems.push(`${APNS_REQUIRED.filter((name) => env[name] === undefined).join(", ")}: required with ${apnsSet.join(", ")} (APNs needs all five, or none to leave iOS pushes off)`);
    }
    if (apnsSet.length === 0 && (env.APNS_BASE_URL !== undefined || env.APNS_CA_PATH !== undefined)) problems.push("APNS_BASE_URL, APNS_CA_PATH: only with the APNs key settings (APNS_KEY_ID…)");
    if (env.FIREBASE_SERVICE_ACCOUNT === undefined && (env.FIREBASE_PROJECT_ID !== undefined || env.FCM_BASE_URL !== undefined)) {
      problems.push("FIREBASE_SERVICE_ACCOUNT: required with FIREBASE_PROJECT_ID or FCM_BASE_URL (the key file FCM's access tokens are signed with)");
    }
    if (env.EMAIL_PROVIDER !== undefined && env.EMAIL_FROM === undefined) problems.push("EMAIL_FROM: required with EMAIL_PROVIDER (the sender of digests)");
    switch (env.EMAIL_PROVIDER) {
      case "smtp":
        if (env.SMTP_HOST === undefined) problems.push("SMTP_HOST: required with EMAIL_PROVIDER=smtp");
        if ((env.SMTP_USER === undefined) !== (env.SMTP_PASSWORD === undefined)) problems.push("SMTP_USER, SMTP_PASSWORD: set both or neither");
        break;
      case "sendgrid":
        if (env.SENDGRID_API_KEY === undefined) problems.push("SENDGRID_API_KEY: required with EMAIL_PROVIDER=sendgrid");
        break;
      case "mailgun":
        if (env.MAILGUN_SMTP_USER === undefined || env.MAILGUN_SMTP_PASSWORD === undefined) problems.push("MAILGUN_SMTP_USER, MAILGUN_SMTP_PASSWORD: required with EMAIL_PROVIDER=mailgun");
        break;
      case "ses":
        if (env.AWS_REGION === undefined) problems.push("AWS_REGION: required with EMAIL_PROVIDER=ses");
        if ((env.SES_ACCESS_KEY_ID === undefined) !== (env.SES_SECRET_ACCESS_KEY === undefined)) problems.push("SES_ACCESS_KEY_ID, SES_SECRET_ACCESS_KEY: set both or neither");
        break;
      case undefined:
        if (env.EMAIL_FROM !== undefined || env.SMTP_HOST !== undefined) problems.push("EMAIL_PROVIDER: required with EMAIL_FROM or SMTP_HOST (smtp, sendgrid, mailgun or ses)");
        break;
    }
    if (env.NOTIFY_RETRY_MAX_MS < env.NOTIFY_RETRY_BASE_MS) problems.push("NOTIFY_RETRY_MAX_MS: must be at least NOTIFY_RETRY_BASE_MS");
    return problems;
  },
  settings: (env) => ({
    /** Whom to notify of what, and when (the policy's timing). */
    policy: policySettings(env),
    /** APNs (iOS pushes, VoIP included); undefined: off. */
    apns: apnsSettings(env),
    /** FCM HTTP v1 (Android pushes); undefined: off. */
    fcm:
      env.FIREBASE_SERVICE_ACCOUNT === undefined
        ? undefined
        : ({
            serviceAccountPath: env.FIREBASE_SERVICE_ACCOUNT,
            ...(env.FIREBASE_PROJECT_ID !== undefined ? { projectId: env.FIREBASE_PROJECT_ID } : {}),
            ...(env.FCM_BASE_URL !== undefined ? { baseUrl: env.FCM_BASE_URL } : {}),
          } satisfies FcmSettings),
    /** The relay of mails; undefined: off. */
    email: emailSettings(env),
    /** How long the notifications of a user without a push-capable device wait, unread, before their digest mail. */
    emailDelayMs: env.EMAIL_DELAY_MS,
    /** Sends of one notification to one device, the first included, before it is recorded failed. */
    maxAttempts: env.NOTIFY_MAX_ATTEMPTS,
    /** The wait before the second attempt, doubled at each next one up to `retryMaxMs`; a provider's Retry-After counts when longer. */
    retryBaseMs: env.NOTIFY_RETRY_BASE_MS,
    retryMaxMs: env.NOTIFY_RETRY_MAX_MS,
  }),
});

function apnsSettings(env: Env): ApnsSettings | undefined {
  const { APNS_KEY_ID, APNS_TEAM_ID, APNS_KEY_PATH, APNS_BUNDLE_ID, APNS_ENVIRONMENT } = env;
  if (APNS_KEY_ID === undefined || APNS_TEAM_ID === undefined || APNS_KEY_PATH === undefined || APNS_BUNDLE_ID === undefined || APNS_ENVIRONMENT === undefined) return undefined;
  return {
    keyId: APNS_KEY_ID,
    teamId: APNS_TEAM_ID,
    keyPath: APNS_KEY_PATH,
    bundleId: APNS_BUNDLE_ID,
    environment: APNS_ENVIRONMENT,
    ...(env.APNS_BASE_URL !== undefined ? { baseUrl: env.APNS_BASE_URL } : {}),
    ...(env.APNS_CA_PATH !== undefined ? { caPath: env.APNS_CA_PATH } : {}),
  };
}

function emailSettings(env: Env): EmailSettings | undefined {
  const from = env.EMAIL_FROM;
  if (from === undefined) return undefined;
  switch (env.EMAIL_PROVIDER) {
    case undefined:
      return undefined;
    case "smtp":
      return {
        provider: "smtp",
        from,
        host: env.SMTP_HOST ?? "",
        port: env.SMTP_PORT ?? (env.SMTP_SECURE === "true" ? 465 : 587),
        secure: env.SMTP_SECURE === "true",
        requireTls: env.SMTP_REQUIRE_TLS === "true",
        ...(env.SMTP_USER !== undefined && env.SMTP_PASSWORD !== undefined ? { auth: { user: env.SMTP_USER, pass: env.SMTP_PASSWORD } } : {}),
      };
    case "sendgrid":
      return { provider: "sendgrid", from, apiKey: env.SENDGRID_API_KEY ?? "" };
    case "mailgun":
      return { provider: "mailgun", from, user: env.MAILGUN_SMTP_USER ?? "", pass: env.MAILGUN_SMTP_PASSWORD ?? "", region: env.MAILGUN_REGION };
    case "ses":
      return {
        provider: "ses",
        from,
        region: env.AWS_REGION ?? "",
        ...(env.SES_ENDPOINT !== undefined ? { endpoint: env.SES_ENDPOINT } : {}),
        ...(env.SES_ACCESS_KEY_ID !== undefined && env.SES_SECRET_ACCESS_KEY !== undefined ? { credentials: { accessKeyId: env.SES_ACCESS_KEY_ID, secretAccessKey: env.SES_SECRET_ACCESS_KEY } } : {}),
      };
  }
}

export type NotificationsSettings = SettingsOf<typeof notificationsConfig>;
