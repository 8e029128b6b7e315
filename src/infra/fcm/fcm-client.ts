import type { PushMessage, PushResult, PushSender } from "../../platform/notifications/push-sender.js";
import { networkFailure } from "../push/network-failure.js";
import { withCredential, type CredentialRefused } from "../push/renewable-credential.js";
import { isTemporaryStatus, retryLater } from "../push/retry-after.js";
import { fcmAccessTokens } from "./fcm-access-tokens.js";
import type { ServiceAccount } from "./service-account.js";

/** Google's FCM host. */
export const FCM_BASE_URL = "https://fcm.googleapis.com";

export interface FcmClientOptions {
  /** The service account's key file, read (`parseServiceAccount`); its `token_uri` is where access tokens come from. */
  readonly serviceAccount: ServiceAccount;
  /** The Firebase project that sends (`FIREBASE_PROJECT_ID`); the service account's own unless told. */
  readonly projectId?: string;
  /** Another server speaking FCM HTTP v1 (`http://127.0.0.1:9099`), instead of {@link FCM_BASE_URL}. */
  readonly baseUrl?: string;
  /** How long one request (a send, an access token) may wait for its answer; 10 s unless told. */
  readonly requestTimeoutMs?: number;
  /** The clock of access tokens (ms since the epoch); `Date.now` unless told. */
  readonly now?: () => number;
}

/** The `@type` of the detail in which FCM says what went wrong with a send. */
const FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
/** FCM's error codes that mean the registration token will never work again. */
const DEAD_TOKEN_CODES = new Set(["UNREGISTERED", "SENDER_ID_MISMATCH"]);

/** FCM HTTP v1's `message` for `message` (`android` options; the notification only for an alert). */
export function fcmMessage(message: PushMessage, nowMs: number): Record<string, unknown> {
  const background = message.kind === "background";
  const priority = message.priority ?? (background ? "normal" : "high");
  const android: Record<string, unknown> = { priority: priority === "high" ? "HIGH" : "NORMAL" };
  if (message.expiresAt !== undefined) android.ttl = `${Math.max(0, Math.ceil((message.expiresAt.getTime() - nowMs) / 1000))}s`;
  if (message.collapseId !== undefined) android.collapse_key = message.collapseId;
  const fcm: Record<string, unknown> = { token: message.token };
  const data: Record<string, string> = { ...message.data };
  if (message.kind === "alert") {
    if (message.alert !== undefined) fcm.notification = message.alert.title === undefined ? { body: message.alert.body } : { title: message.alert.title, body: message.alert.body };
    const notification: Record<string, unknown> = {};
    if (message.threadId !== undefined) notification.tag = message.threadId;
    if (message.sound !== undefined) notification.sound = message.sound;
    if (message.badge !== undefined) notification.notification_count = message.badge;
    if (Object.keys(notification).length > 0) android.notification = notification;
  } else if (message.badge !== undefined) {
    // A data message shows nothing: the app sets its badge from the data.
    data.badge = String(message.badge);
  }
  if (Object.keys(data).length > 0) fcm.data = data;
  fcm.android = android;
  return fcm;
}

interface FcmErrorBody {
  readonly error?: { readonly status?: string; readonly details?: readonly { readonly "@type"?: string; readonly errorCode?: string }[] };
}

/** FCM's answer to one send, sorted. */
function sortAnswer(status: number, body: unknown, retryAfter: string | undefined, nowMs: number): PushResult | CredentialRefused {
  if (status === 200) {
    const name = (body as { name?: unknown }).name;
    return { outcome: "delivered", id: typeof name === "string" ? name : "" };
  }
  const error = (body as FcmErrorBody).error;
  const errorCode = error?.details?.find((detail) => detail["@type"] === FCM_ERROR_TYPE)?.errorCode;
  const reason = errorCode ?? error?.status ?? `HTTP ${status}`;
  if (errorCode !== undefined && DEAD_TOKEN_CODES.has(errorCode)) return { outcome: "token_dead", status, reason };
  // An access token FCM no longer takes; a new one may be taken.
  if (status === 401) return { outcome: "credential_refused", status, reason };
  // The account may not send for this project: a new token of the same account would not help.
  if (status === 403) return { outcome: "auth_failed", status, reason };
  if (isTemporaryStatus(status)) return retryLater(status, reason, retryAfter, nowMs);
  return { outcome: "refused", status, reason };
}

/**
 * The {@link PushSender} of one Firebase project through FCM's HTTP v1 API
 * (`POST {base}/v1/projects/{projectId}/messages:send`), authenticated with the service account's
 * OAuth2 access tokens (see `fcmAccessTokens`): a 401 takes a new token once. Rejects with a
 * `ServiceAccountError` for a key it cannot use.
 */
export async function openFcmClient(o: FcmClientOptions): Promise<PushSender> {
  const now = o.now ?? Date.now;
  const timeoutMs = o.requestTimeoutMs ?? 10_000;
  const tokens = await fcmAccessTokens(o.serviceAccount, { now, timeoutMs });
  const endpoint = `${(o.baseUrl ?? FCM_BASE_URL).replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(o.projectId ?? o.serviceAccount.projectId)}/messages:send`;
  let closed = false;

  async function post(message: PushMessage, accessToken: string): Promise<PushResult | CredentialRefused> {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ message: fcmMessage(message, now()) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return { outcome: "retry_later", reason: networkFailure(error) };
    }
    const body: unknown = (await response.json().catch(() => undefined)) ?? {};
    return sortAnswer(response.status, body, response.headers.get("retry-after") ?? undefined, now());
  }

  return {
    provider: "fcm",

    async send(message) {
      if (closed) return { outcome: "retry_later", reason: "client closed" };
      return withCredential(tokens, (accessToken) => post(message, accessToken));
    },

    close() {
      closed = true;
      return Promise.resolve();
    },
  } satisfies PushSender;
}
