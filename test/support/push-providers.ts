import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApnsStandIn, type ApnsStandIn, type ReceivedPush } from "./apns-stand-in.js";
import { startFcmStandIn, type FcmStandIn, type ReceivedMessage } from "./fcm-stand-in.js";
import { STAND_IN_CERT } from "./test-tls.js";

const KEY_ID = "NOTIFY1234";
const TEAM_ID = "TEAM123456";
const PROJECT = "quikchat-notifier-test";
const EMAIL = "notifier@quikchat-notifier-test.iam.gserviceaccount.com";

/** A fresh APNs device token (alert or VoIP): 64 hexadecimal digits, as iOS hands them out. */
export const apnsToken = (): string => randomBytes(32).toString("hex");
/** A fresh FCM registration token, shaped as Firebase's. */
export const fcmToken = (): string => `${randomBytes(11).toString("base64url")}:APA91b${randomBytes(60).toString("base64url")}`;

/** APNs and FCM stand-ins with one app's credentials, and what points a notifier at them. */
export interface PushProviders {
  readonly apns: ApnsStandIn;
  readonly fcm: FcmStandIn;
  /** The app's bundle id: the APNs topic of its alerts (`<bundleId>.voip` for VoIP pushes). */
  readonly bundleId: string;
  /** `APNS_*`, `FIREBASE_SERVICE_ACCOUNT` and `FCM_BASE_URL` for the service: key files written to a temporary folder. */
  readonly env: Readonly<Record<string, string>>;
  /** Every push the APNs stand-in received for `token`, in order. */
  apnsTo(token: string): ReceivedPush[];
  /** Every message the FCM stand-in received for `token`, in order. */
  fcmTo(token: string): ReceivedMessage[];
  close(): Promise<void>;
}

/**
 * Starts both stand-ins with a new APNs team key and Firebase service account, and writes the
 * key files (the `.p8` key, the stand-ins' CA, the service account JSON) the service reads.
 */
export async function startPushProviders(bundleId: string): Promise<PushProviders> {
  const team = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const account = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const apns = await startApnsStandIn({ publicKey: team.publicKey, keyId: KEY_ID, teamId: TEAM_ID, bundleId });
  const fcm = await startFcmStandIn({ clientEmail: EMAIL, publicKey: account.publicKey, projectId: PROJECT });
  const keys = mkdtempSync(join(tmpdir(), "quikchat-push-keys-"));
  writeFileSync(join(keys, `AuthKey_${KEY_ID}.p8`), team.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  writeFileSync(join(keys, "ca.pem"), STAND_IN_CERT);
  writeFileSync(
    join(keys, "service-account.json"),
    JSON.stringify({ type: "service_account", project_id: PROJECT, private_key_id: "0123abcd", private_key: account.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), client_email: EMAIL, token_uri: fcm.tokenUri }),
  );
  return {
    apns,
    fcm,
    bundleId,
    env: {
      APNS_KEY_ID: KEY_ID,
      APNS_TEAM_ID: TEAM_ID,
      APNS_KEY_PATH: join(keys, `AuthKey_${KEY_ID}.p8`),
      APNS_BUNDLE_ID: bundleId,
      APNS_ENVIRONMENT: "sandbox",
      APNS_BASE_URL: apns.url,
      APNS_CA_PATH: join(keys, "ca.pem"),
      FIREBASE_SERVICE_ACCOUNT: join(keys, "service-account.json"),
      FCM_BASE_URL: fcm.url,
    },
    apnsTo: (token) => apns.received.filter((push) => push.token === token),
    fcmTo: (token) => fcm.received.filter((sent) => (sent.message as { token?: string } | undefined)?.token === token),
    close: async () => {
      await Promise.all([apns.close(), fcm.close()]);
    },
  };
}
