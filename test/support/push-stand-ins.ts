import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApnsStandIn, type ApnsStandIn, type ReceivedPush } from "./apns-stand-in.js";
import { startFcmStandIn, type FcmStandIn, type ReceivedMessage } from "./fcm-stand-in.js";
import { STAND_IN_CERT } from "./test-tls.js";

/** An APNs stand-in and an FCM stand-in, and the service's settings that make its notifier push to them. */
export interface PushStandIns {
  readonly apns: ApnsStandIn;
  readonly fcm: FcmStandIn;
  /** The app's bundle id: the `apns-topic` of its alerts (`<bundleId>.voip` for VoIP pushes). */
  readonly bundleId: string;
  /** `APNS_*`, `FIREBASE_SERVICE_ACCOUNT` and `FCM_BASE_URL` for `quikchat start`: the key files they name live until {@link close}. */
  readonly env: Readonly<Record<string, string>>;
  /** Every push the APNs stand-in received for `token` (alert or VoIP), in order. */
  apnsTo(token: string): ReceivedPush[];
  /** Every message the FCM stand-in received for `token`, in order. */
  fcmTo(token: string): ReceivedMessage[];
  /** Stops both stand-ins and removes the key files. */
  close(): Promise<void>;
}

const KEY_ID = "NOTIFY1234";
const TEAM_ID = "TEAM123456";

/** An APNs device token as an iPhone gets one: 32 random bytes in hex. */
export const apnsDeviceToken = (): string => randomBytes(32).toString("hex");
/** An FCM registration token of the shape Firebase issues. */
export const fcmRegistrationToken = (): string => `${randomBytes(11).toString("base64url")}:APA91b${randomBytes(60).toString("base64url")}`;

/**
 * Starts both stand-ins with fresh credentials (an APNs team key, a Firebase service account)
 * and writes what the service reads at start: the `.p8` key, the service account's key file
 * (its `token_uri` the FCM stand-in's token endpoint) and the stand-ins' certificate as APNs' CA.
 */
export async function startPushStandIns(name: string): Promise<PushStandIns> {
  const bundleId = `com.quikchat.${name}`;
  const project = `quikchat-${name}`;
  const email = `notifier@${project}.iam.gserviceaccount.com`;
  const team = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const account = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const apns = await startApnsStandIn({ publicKey: team.publicKey, keyId: KEY_ID, teamId: TEAM_ID, bundleId });
  const fcm = await startFcmStandIn({ clientEmail: email, publicKey: account.publicKey, projectId: project });
  const keys = mkdtempSync(join(tmpdir(), `quikchat-${name}-keys-`));
  const keyPath = join(keys, `AuthKey_${KEY_ID}.p8`);
  writeFileSync(keyPath, team.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  writeFileSync(join(keys, "ca.pem"), STAND_IN_CERT);
  writeFileSync(
    join(keys, "service-account.json"),
    JSON.stringify({ type: "service_account", project_id: project, private_key_id: "0123abcd", private_key: account.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), client_email: email, token_uri: fcm.tokenUri }),
  );
  return {
    apns,
    fcm,
    bundleId,
    env: {
      APNS_KEY_ID: KEY_ID,
      APNS_TEAM_ID: TEAM_ID,
      APNS_KEY_PATH: keyPath,
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
      rmSync(keys, { recursive: true, force: true });
    },
  };
}
