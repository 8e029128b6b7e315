import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import fastifyWebsocket from "@fastify/websocket";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { RawData, WebSocket } from "ws";
import type { CoreConfig } from "../config/core-config.js";
import type { Logger } from "../../infra/log/logger.js";
import type { WebsocketMetrics } from "../../infra/metrics/service-metrics.js";
import { tokenErrorStatus, type TokenVerifier } from "../gateway/jwt-verifier.js";
import type { ChannelFamily, SocketIdentity } from "./channel.js";
import { createRedisActionRateLimiter, type ActionRateLimiter, type RateLimitBudget, type RateLimits } from "./action-rate-limiter.js";
import { createConnectionRegistry, type ConnectionRegistry } from "./connection-registry.js";
import { DISCONNECT_REASONS, type DisconnectReason } from "./disconnect-reasons.js";
import { negotiateVersion, type ProtocolVersion } from "./phoenix-serializer.js";
import { socketDocumentation } from "./socket-openapi.js";
import { SocketSession, type SessionObserver } from "./socket-session.js";
import { createTopicRouter } from "./topic-router.js";
import { accessTokenOf, refreshReply } from "./token-refresh.js";
import { clientInfo, type ClientInfo, type ConnectionLifecycle } from "./connection-lifecycle.js";

/** The socket limits of the configuration (documented on `CoreConfig["websocket"]`) with the rate limits. */
export type SocketLimits = CoreConfig["websocket"] & { readonly rateLimits: RateLimits };

export interface PhoenixSocketOptions {
  /** The topic families served; a topic no family serves is an "unmatched topic". */
  readonly families: readonly ChannelFamily[];
  readonly verifier: TokenVerifier;
  readonly limits: SocketLimits;
  /** Holds the rate-limit counters, shared by every gateway. */
  readonly redis: Redis;
  readonly metrics: WebsocketMetrics;
  readonly logger: Logger;
  /** Pass one to reach `closeAll`/`size` from outside (e.g. `/health` stats); one is created otherwise. */
  readonly registry?: ConnectionRegistry;
  /** Replaces the Redis limiter (tests). */
  readonly rateLimiter?: ActionRateLimiter;
  /** Told of every socket that opens (with the client's `device_id` and `platform` params) and closes: presence. */
  readonly lifecycle?: ConnectionLifecycle;
}

/** The limits of `config` in the shape the plugin takes. */
export function socketLimitsFromConfig(config: Pick<CoreConfig, "websocket" | "rateLimits">, budgets: readonly RateLimitBudget[] = []): SocketLimits {
  return { ...config.websocket, rateLimits: { ...config.rateLimits, budgets } };
}

/** The transport's own cap, as a multiple of `maxFrameBytes`: above it ws closes the socket with 1009 without reading on. */
export const HARD_FRAME_FACTOR = 4;
/** How long a closing socket may take to complete the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;
/** On shutdown, how long frames already received may take to be answered before the socket closes. */
const SHUTDOWN_DRAIN_MS = 1_000;
/** Timers longer than this overflow in Node; a later expiry is re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** Frames received but not yet handled per socket; more get an `overloaded` reply. */
const MAX_PENDING_FRAMES = 1_024;
/** The subprotocol prefix under which phoenix.js (`authToken` option) sends a token. */
const AUTH_TOKEN_PROTOCOL_PREFIX = "base64url.bearer.phx.";

interface Admission {
  readonly identity: Omit<SocketIdentity, "connectionId">;
  readonly tokenIssuedAt: number | undefined;
  readonly client: ClientInfo;
  readonly version: ProtocolVersion;
  upgraded: boolean;
}

/**
 * The Phoenix socket at `GET /socket/websocket?vsn=2.0.0&token=…`. The token is verified and the
 * user's connection slot reserved in `onRequest`, before the upgrade: refusals are plain HTTP
 * (400 unsupported vsn, 401 bad token, 429 too many connections, 503 shutting down or keys
 * unreachable). Each socket then runs a `SocketSession`. On close of the app every socket is
 * closed with 1012 (service restart), which the phoenix client reconnects after.
 * `/socket/longpoll` answers 404: this server speaks WebSocket only.
 */
export const phoenixSocketRoute: FastifyPluginAsync<PhoenixSocketOptions> = async (app, options) => {
  const { verifier, limits, metrics, logger } = options;
  const registry = options.registry ?? createConnectionRegistry(limits);
  const router = createTopicRouter(options.families);
  const rateLimiter = options.rateLimiter ?? createRedisActionRateLimiter(options.redis, limits.rateLimits);
  const admissions = new WeakMap<FastifyRequest, Admission>();
  const log = logger.child({ component: "phoenix-socket" });
  const observer: SessionObserver = {
    inbound: (type) => metrics.messages.inc({ direction: "in", type }),
    outbound: (type) => metrics.messages.inc({ direction: "out", type }),
    rateLimited: (limit) => metrics.rateLimited.inc({ limit }),
  };

  await app.register(fastifyWebsocket, {
    options: { maxPayload: limits.maxFrameBytes * HARD_FRAME_FACTOR },
    // Sockets are closed before the HTTP server stops: it would otherwise wait for them forever.
    preClose: async () => {
      await registry.closeAll("shutdown");
    },
    // Errors of the route's handler; a served socket's own errors are logged by `releaseUpgrade`.
    errorHandler: (error, _socket, request) => {
      log.info({ err: error, userId: admissions.get(request)?.identity.userId }, "websocket error");
    },
  });

  const refuse = (reply: FastifyReply, status: number, reason: string, message: string) => {
    metrics.refusals.inc({ reason });
    log.info({ status, reason }, "socket refused before upgrade");
    return reply.code(status).header("connection", "close").send({ error: reason, message });
  };

  const admit = async (request: FastifyRequest<{ Querystring: SocketQuery }>, reply: FastifyReply) => {
    if (!request.ws) return reply.code(426).send({ error: "upgrade_required", message: "connect with a WebSocket" });
    const version = negotiateVersion(request.query.vsn);
    if (!version) return refuse(reply, 400, "unsupported_vsn", "vsn must be 1.0.x or 2.0.x");
    const verified = await verifier.verify(request.query.token ?? tokenFromProtocols(request.headers["sec-websocket-protocol"]));
    if (!verified.ok) return refuse(reply, tokenErrorStatus(verified.error.code), verified.error.code, verified.error.message);
    const { userId, workspaceId, expiresAt, issuedAt } = verified.token;
    const reservation = registry.reserve(userId);
    if (reservation === "limit") {
      return refuse(reply, 429, "too_many_connections", `at most ${limits.maxConnectionsPerUser} sockets per user`);
    }
    if (reservation === "closing") return refuse(reply, 503, "shutting_down", "this gateway is shutting down");
    const admission: Admission = {
      identity: { userId, workspaceId, tokenExpiresAt: expiresAt },
      tokenIssuedAt: issuedAt,
      client: clientInfo(request.query),
      version,
      upgraded: false,
    };
    admissions.set(request, admission);
    // The slot returns here if the upgrade never completes (handshake refused by ws, client gone).
    request.raw.socket?.once("close", () => {
      if (!admission.upgraded) registry.release(userId);
    });
  };

  app.get<{ Querystring: SocketQuery }>(
    "/socket/websocket",
    { websocket: true, onRequest: admit, schema: { querystring: socketQuery }, config: { swaggerTransform: socketDocumentation } },
    (socket, request) => {
      const admission = admissions.get(request);
      if (!admission) {
        socket.close(DISCONNECT_REASONS.internal.code, DISCONNECT_REASONS.internal.reason);
        return;
      }
      admission.upgraded = true;
      releaseUpgrade(socket, request.raw.socket, admission);
      serve(socket, request.raw.socket, admission);
    },
  );

  // The methods phoenix.js's long-poll transport uses.
  app.route({
    method: ["GET", "POST"],
    url: "/socket/longpoll",
    schema: {
      tags: ["socket"],
      summary: "Phoenix long-polling: not served",
      response: { 404: { ...errorBody, description: "longpoll_unsupported: this server speaks WebSocket only, at /socket/websocket" } },
    },
    handler: async (_request, reply) =>
      reply.code(404).send({ error: "longpoll_unsupported", message: "this server speaks WebSocket only, at /socket/websocket" }),
  });

  /**
   * @fastify/websocket keeps the upgrade's request and reply reachable for as long as the socket
   * lives: its 'error' listener closes over them, and the ServerResponse it made for routing
   * stays assigned to the TCP connection. With them stay the headers, the URL (token included)
   * and a request logger. The socket's errors are logged here instead (ws closes the socket itself
   * on protocol errors: 1002, 1007, 1009), and the response is detached, so they go after the
   * upgrade.
   */
  function releaseUpgrade(socket: WebSocket, connection: Socket, admission: Admission): void {
    socket.removeAllListeners("error");
    socket.on("error", (error) => log.info({ err: error, userId: admission.identity.userId }, "websocket error"));
    (connection as Socket & { _httpMessage?: ServerResponse | null })._httpMessage?.detachSocket(connection);
  }

  /** Everything here runs synchronously, so no frame arrives before its handler is attached. */
  function serve(socket: WebSocket, connection: Duplex, admission: Admission): void {
    // Mutable here only: a refresh moves the token's expiry, which every channel of the socket sees.
    const identity: { -readonly [K in keyof SocketIdentity]: SocketIdentity[K] } = { ...admission.identity, connectionId: randomUUID() };
    const connectionLog = log.child({ connectionId: identity.connectionId, userId: identity.userId });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    let closing = false;
    let tokenIssuedAt = admission.tokenIssuedAt;
    /** The code the server closed the socket with, if it did. */
    let closedWith: number | undefined;

    const disconnect = (reason: DisconnectReason): Promise<void> => {
      if (closing || socket.readyState === socket.CLOSED) return closed;
      closing = true;
      metrics.disconnects.inc({ reason: snakeCase(reason) });
      connectionLog.info({ reason }, "closing socket");
      const { code, reason: text } = DISCONNECT_REASONS[reason];
      closedWith = code;
      socket.close(code, text);
      // A slow or dead client may never complete the handshake.
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
      return closed;
    };

    // Frames sent in one tick (a burst of deltas, a reply and a push) leave in one write: the
    // connection is corked at the first and uncorked once the tick's work is done.
    let corked = false;
    const uncork = () => {
      corked = false;
      connection.uncork();
    };

    const session = new SocketSession({
      identity,
      version: admission.version,
      router,
      limits: {
        maxChannels: limits.maxChannelsPerSocket,
        maxFrameBytes: limits.maxFrameBytes,
        maxBadFrames: limits.maxBadFrames,
        maxPendingFrames: MAX_PENDING_FRAMES,
      },
      rateLimiter,
      logger: connectionLog,
      observer,
      refreshToken: async (payload) => {
        const token = accessTokenOf(payload);
        if (token === undefined) return { status: "error", response: { reason: "invalid", message: "access_token must be a non-empty string" } };
        return refreshReply(identity, await verifier.verify(token), (refreshed) => {
          tokenIssuedAt = refreshed.issuedAt;
          extend(refreshed.expiresAt);
        });
      },
      transport: {
        send: (text) => {
          if (closing || socket.readyState !== socket.OPEN) return;
          if (!corked) {
            corked = true;
            connection.cork();
            process.nextTick(uncork);
          }
          // Text frames always, bytes or not (the Phoenix client reads binary frames as its binary serializer's).
          socket.send(text, { binary: false });
          if (socket.bufferedAmount > limits.maxBufferedBytes) void disconnect("slowConsumer");
        },
        close: (reason) => void disconnect(reason),
      },
    });

    const idle = setTimeout(() => void disconnect("heartbeatTimeout"), limits.idleTimeoutMs).unref();
    const expire = () => void disconnect("tokenExpired");
    let expiry = armExpiry(identity.tokenExpiresAt, expire, (timer) => (expiry = timer));
    function extend(expiresAt: number): void {
      if (closing) return;
      identity.tokenExpiresAt = expiresAt;
      clearTimeout(expiry);
      expiry = armExpiry(expiresAt, expire, (timer) => (expiry = timer));
      connectionLog.debug({ expiresAt }, "authentication extended");
    }
    const unregister = registry.register({
      userId: identity.userId,
      connectionId: identity.connectionId,
      get tokenIssuedAt() {
        return tokenIssuedAt;
      },
      extend,
      close: async (reason) => {
        if (reason === "shutdown") await session.quiesce(SHUTDOWN_DRAIN_MS);
        await disconnect(reason);
      },
    });
    metrics.connections.inc();
    options.lifecycle?.opened(identity, admission.client);

    socket.on("message", (data: RawData, isBinary: boolean) => {
      idle.refresh();
      session.receive(toBytes(data), isBinary);
    });
    socket.once("close", (code: number) => {
      clearTimeout(idle);
      clearTimeout(expiry);
      unregister();
      metrics.connections.dec();
      // A client that never answers the close handshake leaves 1006: the server's reason is the one that counts.
      options.lifecycle?.closed(identity, closedWith ?? code);
      connectionLog.debug({ code }, "socket closed");
      void session.terminate();
    });
    connectionLog.debug({ vsn: admission.version }, "socket open");
  }
};

type SocketQuery = {
  vsn?: string;
  token?: string;
  device_id?: string;
  platform?: string;
};

const socketQuery = {
  type: "object",
  properties: { vsn: { type: "string" }, token: { type: "string" }, device_id: { type: "string" }, platform: { type: "string" } },
  additionalProperties: true,
} as const;

const errorBody = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
} as const;

/** phoenix.js's `authToken` option: `Sec-WebSocket-Protocol: phoenix, base64url.bearer.phx.<base64 token>`. */
function tokenFromProtocols(header: string | undefined): string | undefined {
  const offered = header?.split(",").map((protocol) => protocol.trim());
  const encoded = offered?.find((protocol) => protocol.startsWith(AUTH_TOKEN_PROTOCOL_PREFIX));
  return encoded === undefined ? undefined : Buffer.from(encoded.slice(AUTH_TOKEN_PROTOCOL_PREFIX.length), "base64").toString("utf8");
}

/** Calls `onExpiry` once `expiresAt` (seconds) has passed, re-arming as often as Node's timer limit requires. */
function armExpiry(expiresAt: number, onExpiry: () => void, rearmed: (timer: NodeJS.Timeout) => void): NodeJS.Timeout {
  const delay = expiresAt * 1000 - Date.now();
  if (delay <= MAX_TIMER_MS) return setTimeout(onExpiry, Math.max(0, delay)).unref();
  return setTimeout(() => rearmed(armExpiry(expiresAt, onExpiry, rearmed)), MAX_TIMER_MS).unref();
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
