import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { PushMessage, PushResult, PushSender } from "../../platform/notifications/push-sender.js";
import { networkFailure } from "../push/network-failure.js";
import { withCredential, type CredentialRefused } from "../push/renewable-credential.js";
import { isTemporaryStatus, retryLater } from "../push/retry-after.js";
import { apnsProviderTokens, type ApnsSigningKey } from "./apns-provider-token.js";

/** Apple's hosts for each environment (`APNS_ENVIRONMENT`). */
export const APNS_HOSTS = {
  production: "https://api.push.apple.com",
  sandbox: "https://api.sandbox.push.apple.com",
} as const;

export type ApnsEnvironment = keyof typeof APNS_HOSTS;

export interface ApnsClientOptions extends ApnsSigningKey {
  /** The app's bundle id: the `apns-topic` of its pushes, with `.voip` appended for VoIP ones. */
  readonly bundleId: string;
  /**
   * Which of {@link APNS_HOSTS}. Required: APNs answers a token of the other environment 400
   * `BadDeviceToken`, which removes the device, so a silent default would cost users their pushes.
   */
  readonly environment: ApnsEnvironment;
  /** Another server speaking APNs (`https://127.0.0.1:8443`), instead of the environment's host. */
  readonly baseUrl?: string;
  /** Certificates to trust besides the system's (a test server's self-signed one). */
  readonly ca?: string | Buffer;
  /** How long one push may wait for its answer before it is `retry_later`; 10 s unless told. */
  readonly requestTimeoutMs?: number;
  /** The clock of provider tokens (ms since the epoch); `Date.now` unless told. */
  readonly now?: () => number;
}

/** The largest payload APNs takes, in bytes: 5 KB for VoIP pushes, 4 KB for the others. */
const MAX_PAYLOAD_BYTES = { voip: 5120, other: 4096 };
/** Refusals that say the provider token, not the push, is wrong: a new token is signed once. */
const TOKEN_REFUSALS = new Set(["InvalidProviderToken", "ExpiredProviderToken", "MissingProviderToken"]);

/** The request headers (without `authorization`) and JSON body APNs expects for `message`. */
export function apnsRequest(message: PushMessage, bundleId: string, nowMs: number): { headers: OutgoingHttpHeaders; body: string } {
  const background = message.kind === "background";
  const priority = message.priority ?? (background ? "normal" : "high");
  const headers: OutgoingHttpHeaders = {
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: `/3/device/${encodeURIComponent(message.token)}`,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/json",
    "apns-topic": message.kind === "voip" ? `${bundleId}.voip` : bundleId,
    "apns-push-type": message.kind,
    // Apple refuses priority 10 for background pushes.
    "apns-priority": priority === "high" && !background ? "10" : "5",
  };
  if (message.expiresAt !== undefined) {
    const at = Math.floor(message.expiresAt.getTime() / 1000);
    // 0 asks for one attempt and no storage: what an instant already past means.
    headers["apns-expiration"] = String(at * 1000 > nowMs ? at : 0);
  }
  if (message.collapseId !== undefined) headers["apns-collapse-id"] = message.collapseId;
  if (message.id !== undefined) headers["apns-id"] = message.id;

  const aps: Record<string, unknown> = {};
  if (message.kind === "alert") {
    if (message.alert !== undefined) aps.alert = message.alert.title === undefined ? { body: message.alert.body } : { title: message.alert.title, body: message.alert.body };
    if (message.sound !== undefined) aps.sound = message.sound;
    if (message.threadId !== undefined) aps["thread-id"] = message.threadId;
  }
  if (background) aps["content-available"] = 1;
  if (message.badge !== undefined) aps.badge = message.badge;
  return { headers, body: JSON.stringify({ ...message.data, aps }) };
}

/** APNs' answer to one request, sorted. */
function sortAnswer(status: number, headers: IncomingHttpHeaders, body: string, nowMs: number): PushResult | CredentialRefused {
  if (status === 200) return { outcome: "delivered", id: String(headers["apns-id"] ?? "") };
  let answer: { reason?: unknown; timestamp?: unknown } = {};
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    // A proxy's HTML error page, or nothing: the status decides alone.
  }
  const reason = typeof answer.reason === "string" ? answer.reason : `HTTP ${status}`;
  if (status === 410) {
    const since = typeof answer.timestamp === "number" ? new Date(answer.timestamp) : undefined;
    return { outcome: "token_dead", status, reason, ...(since !== undefined ? { since } : {}) };
  }
  if (status === 400 && reason === "BadDeviceToken") return { outcome: "token_dead", status, reason };
  if (status === 403 && TOKEN_REFUSALS.has(reason)) return { outcome: "credential_refused", status, reason };
  if (isTemporaryStatus(status)) return retryLater(status, reason, headers["retry-after"], nowMs);
  return { outcome: "refused", status, reason };
}

/**
 * The {@link PushSender} of one app through APNs: HTTP/2 over one TLS session, opened on the
 * first push, shared by concurrent pushes and opened again after the server closes it (APNs
 * sends GOAWAY on idle or overloaded connections). Authenticates with a provider JWT signed with
 * the team's key (see `apnsProviderTokens`). Rejects with an `ApnsKeyError` for a key it cannot use.
 */
export async function openApnsClient(o: ApnsClientOptions): Promise<PushSender> {
  const now = o.now ?? Date.now;
  const tokens = await apnsProviderTokens(o, now);
  const authority = o.baseUrl ?? APNS_HOSTS[o.environment];
  const timeoutMs = o.requestTimeoutMs ?? 10_000;
  let session: ClientHttp2Session | undefined;
  let closed = false;

  function currentSession(): ClientHttp2Session {
    if (session !== undefined && !session.closed && !session.destroyed) return session;
    const opened = connect(authority, o.ca !== undefined ? { ca: o.ca } : {});
    const forget = () => {
      if (session === opened) session = undefined;
    };
    // A failed or lost connection fails the requests on it, which answer for it.
    opened.on("error", forget);
    opened.on("goaway", forget);
    opened.on("close", forget);
    session = opened;
    return opened;
  }

  /** One request on the shared session; a connection that fails answers `retry_later`. */
  function request(headers: OutgoingHttpHeaders, body: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string } | { failed: string }> {
    return new Promise((resolve) => {
      let stream;
      try {
        stream = currentSession().request(headers, { endStream: false });
      } catch (error) {
        resolve({ failed: networkFailure(error) });
        return;
      }
      let answered: { status: number; headers: IncomingHttpHeaders } | undefined;
      let text = "";
      stream.setEncoding("utf8");
      stream.setTimeout(timeoutMs, () => {
        stream.close(constants.NGHTTP2_CANCEL);
        resolve({ failed: "timeout" });
      });
      stream.on("response", (responseHeaders) => {
        answered = { status: Number(responseHeaders[constants.HTTP2_HEADER_STATUS]), headers: responseHeaders };
      });
      stream.on("data", (chunk: string) => (text += chunk));
      stream.on("end", () => resolve(answered !== undefined ? { ...answered, body: text } : { failed: "no answer" }));
      stream.on("error", (error: NodeJS.ErrnoException) => resolve({ failed: networkFailure(error) }));
      stream.on("close", () => resolve({ failed: `stream closed (${stream.rstCode ?? "no code"})` }));
      stream.end(body);
    });
  }

  async function push(message: PushMessage, token: string): Promise<PushResult | CredentialRefused> {
    const { headers, body } = apnsRequest(message, o.bundleId, now());
    const limit = message.kind === "voip" ? MAX_PAYLOAD_BYTES.voip : MAX_PAYLOAD_BYTES.other;
    if (Buffer.byteLength(body) > limit) return { outcome: "refused", status: 413, reason: "PayloadTooLarge" };
    const answer = await request({ ...headers, [constants.HTTP2_HEADER_AUTHORIZATION]: `bearer ${token}` }, body);
    if ("failed" in answer) return { outcome: "retry_later", reason: answer.failed };
    return sortAnswer(answer.status, answer.headers, answer.body, now());
  }

  return {
    provider: "apns",

    async send(message) {
      if (closed) return { outcome: "retry_later", reason: "client closed" };
      return withCredential(tokens, (token) => push(message, token));
    },

    async close() {
      closed = true;
      const open = session;
      session = undefined;
      if (open !== undefined && !open.closed) await new Promise<void>((resolve) => open.close(resolve));
    },
  } satisfies PushSender;
}
