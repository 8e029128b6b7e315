import { randomUUID, type KeyObject } from "node:crypto";
import { createSecureServer, constants, type Http2Server, type ServerHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { STAND_IN_CERT, STAND_IN_KEY } from "./test-tls.js";


/** One request as the stand-in received it, with what it answered. */
export interface ReceivedPush {
  readonly token: string;
  readonly jwt: string | undefined;
  readonly topic: string | undefined;
  readonly pushType: string | undefined;
  readonly priority: string | undefined;
  readonly expiration: string | undefined;
  readonly collapseId: string | undefined;
  /** The `apns-id` the provider gave, if any (APNs answers with it, or with one of its own). */
  readonly apnsId: string | undefined;
  readonly payload: unknown;
  readonly status: number;
  readonly reason: string | undefined;
  /** When the request's headers arrived: epoch milliseconds with microsecond resolution (comparable across processes of the machine). */
  readonly receivedAt: number;
}

/** An answer the stand-in gives once instead of its own. */
export interface ScriptedAnswer {
  readonly status: number;
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApnsStandInOptions {
  /** The team's public key: the only one whose provider tokens are accepted. */
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly teamId: string;
  readonly bundleId: string;
  /** The stand-in's clock (ms), against which a token older than an hour is expired. */
  readonly now?: () => number;
}

export interface ApnsStandIn {
  /** `https://localhost:<port>`: the client's `baseUrl`. */
  readonly url: string;
  readonly received: ReceivedPush[];
  /** Every distinct provider token presented, in order of first use. */
  readonly providerTokens: string[];
  /** HTTP/2 sessions (TLS connections) opened so far. */
  sessions(): number;
  /** `token` is answered 410 `Unregistered` with `at` as its timestamp. */
  unregister(token: string, at: Date): void;
  /** The next push to `token` gets `answer` (queued: several calls, several answers). */
  answerNext(token: string, answer: ScriptedAnswer): void;
  /** Every provider token presented so far is answered 403 `ExpiredProviderToken` from now on. */
  expireProviderTokens(): void;
  /** Closes every open session with GOAWAY, as APNs does to idle connections. */
  dropSessions(): Promise<void>;
  close(): Promise<void>;
}

const PUSH_TYPES = new Set(["alert", "background", "voip", "location", "complication", "fileprovider", "mdm", "liveactivity", "pushtotalk", "widgets"]);

/**
 * An HTTP/2 TLS server playing APNs' `POST /3/device/<token>`, checking what the real one checks
 * in the order it does: the path and token's form, the provider token (an ES256 JWT signed by the
 * expected key, with its `kid` and `iss`, not older than an hour), `apns-topic` (the bundle id, with
 * `.voip` for VoIP pushes) and `apns-push-type`, then the token's registration. Answers as APNs does:
 * 200 with `apns-id`, or a status with `{"reason": …}`.
 */
export async function startApnsStandIn(o: ApnsStandInOptions): Promise<ApnsStandIn> {
  const now = o.now ?? Date.now;
  const received: ReceivedPush[] = [];
  const providerTokens: string[] = [];
  const expired = new Set<string>();
  const unregistered = new Map<string, Date>();
  const scripted = new Map<string, ScriptedAnswer[]>();
  const open = new Set<ServerHttp2Session>();
  let opened = 0;

  async function judge(token: string, headers: IncomingHttpHeaders): Promise<ScriptedAnswer | { status: 410; reason: string; at: Date } | undefined> {
    if (!/^[0-9a-f]{64,200}$/i.test(token)) return { status: 400, reason: "BadDeviceToken" };
    const authorization = headers.authorization;
    if (authorization === undefined || !authorization.startsWith("bearer ")) return { status: 403, reason: "MissingProviderToken" };
    const jwt = authorization.slice("bearer ".length);
    if (!providerTokens.includes(jwt)) providerTokens.push(jwt);
    try {
      const header = decodeProtectedHeader(jwt);
      if (header.alg !== "ES256" || header.kid !== o.keyId) return { status: 403, reason: "InvalidProviderToken" };
      const { payload } = await jwtVerify(jwt, o.publicKey, { algorithms: ["ES256"], issuer: o.teamId, currentDate: new Date(now()) });
      if (typeof payload.iat !== "number") return { status: 403, reason: "InvalidProviderToken" };
      if (now() / 1000 - payload.iat > 3600 || expired.has(jwt)) return { status: 403, reason: "ExpiredProviderToken" };
    } catch {
      return { status: 403, reason: "InvalidProviderToken" };
    }
    const topic = headers["apns-topic"];
    const pushType = headers["apns-push-type"];
    if (topic === undefined) return { status: 400, reason: "MissingTopic" };
    if (topic !== o.bundleId && topic !== `${o.bundleId}.voip`) return { status: 400, reason: "BadTopic" };
    if (typeof pushType !== "string" || !PUSH_TYPES.has(pushType)) return { status: 400, reason: "InvalidPushType" };
    if ((pushType === "voip") !== topic.endsWith(".voip")) return { status: 400, reason: "InvalidPushType" };
    if (pushType === "background" && headers["apns-priority"] === "10") return { status: 400, reason: "BadPriority" };
    const gone = unregistered.get(token);
    if (gone !== undefined) return { status: 410, reason: "Unregistered", at: gone };
    return scripted.get(token)?.shift();
  }

  function answer(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: string, receivedAt: number): void {
    const path = String(headers[constants.HTTP2_HEADER_PATH] ?? "");
    const token = decodeURIComponent(path.startsWith("/3/device/") ? path.slice("/3/device/".length) : "");
    const reply = (status: number, reason: string | undefined, extra: Record<string, string | number> = {}, timestamp?: Date) => {
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        payload = body;
      }
      received.push({
        token,
        jwt: headers.authorization?.replace(/^bearer /, ""),
        topic: headers["apns-topic"] as string | undefined,
        pushType: headers["apns-push-type"] as string | undefined,
        priority: headers["apns-priority"] as string | undefined,
        expiration: headers["apns-expiration"] as string | undefined,
        collapseId: headers["apns-collapse-id"] as string | undefined,
        apnsId: headers["apns-id"] as string | undefined,
        payload,
        status,
        reason,
        receivedAt,
      });
      stream.respond({ ":status": status, ...extra, ...(reason !== undefined ? { "content-type": "application/json" } : {}) });
      stream.end(reason !== undefined ? JSON.stringify(timestamp !== undefined ? { reason, timestamp: timestamp.getTime() } : { reason }) : undefined);
    };
    if (headers[constants.HTTP2_HEADER_METHOD] !== "POST") return reply(405, "MethodNotAllowed");
    if (!path.startsWith("/3/device/")) return reply(404, "BadPath");
    judge(token, headers).then(
      (verdict) => {
        if (verdict === undefined) reply(200, undefined, { "apns-id": (headers["apns-id"] as string | undefined) ?? randomUUID().toUpperCase() });
        else if ("at" in verdict) reply(verdict.status, verdict.reason, {}, verdict.at);
        else reply(verdict.status, verdict.reason, { ...verdict.headers });
      },
      () => reply(500, "InternalServerError"),
    );
  }

  const server: Http2Server = createSecureServer({ cert: STAND_IN_CERT, key: STAND_IN_KEY });
  server.on("session", (session: ServerHttp2Session) => {
    opened += 1;
    open.add(session);
    session.on("close", () => open.delete(session));
    session.on("error", () => undefined);
  });
  server.on("stream", (stream, headers) => {
    const receivedAt = performance.timeOrigin + performance.now();
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => answer(stream, headers, body, receivedAt));
    stream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const closeSessions = () => Promise.all([...open].map((session) => new Promise<void>((resolve) => session.close(resolve))));

  return {
    url: `https://localhost:${port}`,
    received,
    providerTokens,
    sessions: () => opened,
    unregister: (token, at) => unregistered.set(token, at),
    answerNext: (token, scriptedAnswer) => scripted.set(token, [...(scripted.get(token) ?? []), scriptedAnswer]),
    expireProviderTokens: () => providerTokens.forEach((jwt) => expired.add(jwt)),
    dropSessions: async () => {
      await closeSessions();
    },
    close: async () => {
      await closeSessions();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The claims of a provider token, for assertions. */
export const providerTokenClaims = (jwt: string): { header: ReturnType<typeof decodeProtectedHeader>; claims: ReturnType<typeof decodeJwt> } => ({
  header: decodeProtectedHeader(jwt),
  claims: decodeJwt(jwt),
});
