import { randomBytes, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { jwtVerify, type JWTPayload } from "jose";

const FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

/** FCM's error body, as Google sends it (`details` only when FCM names its own error code). */
export function fcmErrorBody(code: number, status: string, message: string, errorCode?: string): object {
  return { error: { code, message, status, ...(errorCode !== undefined ? { details: [{ "@type": FCM_ERROR_TYPE, errorCode }] } : {}) } };
}

/** FCM's real answer to a send to a token that is no longer registered. */
export const UNREGISTERED_BODY = fcmErrorBody(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED");
const SENDER_ID_MISMATCH_BODY = fcmErrorBody(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH");
const UNAUTHENTICATED_BODY = fcmErrorBody(
  401,
  "UNAUTHENTICATED",
  "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
);

/** One send as the stand-in received it, with what it answered. */
export interface ReceivedMessage {
  readonly project: string;
  readonly accessToken: string | undefined;
  readonly message: Record<string, unknown> | undefined;
  readonly status: number;
  /** When the request arrived: epoch milliseconds with microsecond resolution (comparable across processes of the machine). */
  readonly receivedAt: number;
}

/** An answer the stand-in gives once instead of its own. */
export interface ScriptedFcmAnswer {
  readonly status: number;
  readonly body: object;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FcmStandInOptions {
  /** The service account whose assertions the token endpoint accepts: its email and public key. */
  readonly clientEmail: string;
  readonly publicKey: KeyObject;
  readonly projectId: string;
  /** The stand-in's clock (ms): access tokens expire by it. */
  readonly now?: () => number;
}

export interface FcmStandIn {
  /** `http://127.0.0.1:<port>`: the client's `baseUrl`. */
  readonly url: string;
  /** The service account's `token_uri`: `<url>/token`. */
  readonly tokenUri: string;
  /** The verified claims of every assertion the token endpoint accepted. */
  readonly assertions: JWTPayload[];
  /** Every access token issued, in order. */
  readonly accessTokens: string[];
  /** Token requests refused, with the OAuth2 error given. */
  readonly refusedAssertions: string[];
  readonly received: ReceivedMessage[];
  /** Sends to `token` are answered with FCM's real UNREGISTERED error. */
  unregister(token: string): void;
  /** Sends to `token` are answered with SENDER_ID_MISMATCH (a token of another project). */
  belongsElsewhere(token: string): void;
  /** The next send to `token` gets `answer` (queued). */
  answerNext(token: string, answer: ScriptedFcmAnswer): void;
  /** Every access token issued so far is answered 401 from now on. */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text;
}

function reply(response: ServerResponse, status: number, body: object, headers: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
  response.end(JSON.stringify(body));
}

/**
 * An HTTP server playing Google's OAuth2 token endpoint (`POST /token`, the JWT bearer grant: the
 * RS256 assertion verified against the service account's key, with its `iss`, `aud` = this
 * endpoint, the firebase.messaging scope and at most an hour's lifetime) and FCM HTTP v1's
 * `POST /v1/projects/<project>/messages:send` (the bearer token checked, the message's token and
 * Android options looked at), answering with Google's bodies.
 */
export async function startFcmStandIn(o: FcmStandInOptions): Promise<FcmStandIn> {
  const now = o.now ?? Date.now;
  const assertions: JWTPayload[] = [];
  const accessTokens: string[] = [];
  const refusedAssertions: string[] = [];
  const received: ReceivedMessage[] = [];
  const expiry = new Map<string, number>();
  const revoked = new Set<string>();
  const unregistered = new Set<string>();
  const elsewhere = new Set<string>();
  const scripted = new Map<string, ScriptedFcmAnswer[]>();
  let tokenUri = "";

  async function token(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(request));
    const refuse = (error: string, description: string) => {
      refusedAssertions.push(error);
      reply(response, 400, { error, error_description: description });
    };
    if (!String(request.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) return refuse("invalid_request", "Bad Request");
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return refuse("unsupported_grant_type", "Invalid grant_type");
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(form.get("assertion") ?? "", o.publicKey, { algorithms: ["RS256"], currentDate: new Date(now()) }));
    } catch {
      return refuse("invalid_grant", "Invalid JWT Signature.");
    }
    if (claims.iss !== o.clientEmail) return refuse("invalid_grant", "Invalid grant: account not found");
    if (claims.aud !== tokenUri) return refuse("invalid_grant", "Invalid JWT: Failed audience check.");
    if (typeof claims.iat !== "number" || typeof claims.exp !== "number" || claims.exp - claims.iat > 3600) {
      return refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    if (typeof claims.scope !== "string" || !claims.scope.split(" ").includes(SCOPE)) return refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    assertions.push(claims);
    const issued = `ya29.stand-in.${randomBytes(12).toString("hex")}`;
    accessTokens.push(issued);
    expiry.set(issued, now() + 3599_000);
    reply(response, 200, { access_token: issued, expires_in: 3599, token_type: "Bearer" });
  }

  async function send(project: string, request: IncomingMessage, response: ServerResponse, receivedAt: number): Promise<void> {
    const authorization = request.headers.authorization;
    const accessToken = authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined;
    let message: Record<string, unknown> | undefined;
    try {
      message = (JSON.parse(await readBody(request)) as { message?: Record<string, unknown> }).message;
    } catch {
      message = undefined;
    }
    const answer = (status: number, body: object, headers?: Readonly<Record<string, string>>) => {
      received.push({ project, accessToken, message, status, receivedAt });
      reply(response, status, body, headers);
    };
    const validUntil = accessToken === undefined ? undefined : expiry.get(accessToken);
    if (validUntil === undefined || validUntil <= now() || revoked.has(accessToken!)) return answer(401, UNAUTHENTICATED_BODY);
    if (project !== o.projectId) {
      return answer(403, fcmErrorBody(403, "PERMISSION_DENIED", `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`));
    }
    const target = message?.token;
    if (typeof target !== "string" || target === "") return answer(400, fcmErrorBody(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", "INVALID_ARGUMENT"));
    const android = message?.android as { priority?: unknown; ttl?: unknown } | undefined;
    if ((android?.priority !== undefined && android.priority !== "NORMAL" && android.priority !== "HIGH") || (android?.ttl !== undefined && (typeof android.ttl !== "string" || !/^\d+(\.\d+)?s$/.test(android.ttl)))) {
      return answer(400, fcmErrorBody(400, "INVALID_ARGUMENT", "Invalid value at 'message.android'", "INVALID_ARGUMENT"));
    }
    if (unregistered.has(target)) return answer(404, UNREGISTERED_BODY);
    if (elsewhere.has(target)) return answer(403, SENDER_ID_MISMATCH_BODY);
    const next = scripted.get(target)?.shift();
    if (next !== undefined) return answer(next.status, next.body, next.headers);
    answer(200, { name: `projects/${project}/messages/0:${Date.now()}%${randomBytes(8).toString("hex")}` });
  }

  const server = createServer((request, response) => {
    const receivedAt = performance.timeOrigin + performance.now();
    const path = request.url ?? "";
    const sendPath = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
    const handled =
      request.method === "POST" && path === "/token"
        ? token(request, response)
        : request.method === "POST" && sendPath !== null
          ? send(decodeURIComponent(sendPath[1]!), request, response, receivedAt)
          : Promise.resolve(reply(response, 404, fcmErrorBody(404, "NOT_FOUND", "Not Found")));
    handled.catch(() => reply(response, 500, fcmErrorBody(500, "INTERNAL", "Internal error encountered.")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUri = `${url}/token`;

  return {
    url,
    tokenUri,
    assertions,
    accessTokens,
    refusedAssertions,
    received,
    unregister: (target) => unregistered.add(target),
    belongsElsewhere: (target) => elsewhere.add(target),
    answerNext: (target, answer) => scripted.set(target, [...(scripted.get(target) ?? []), answer]),
    revokeAccessTokens: () => accessTokens.forEach((issued) => revoked.add(issued)),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
