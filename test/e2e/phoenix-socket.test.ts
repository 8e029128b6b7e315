import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { SignJWT, type JWTPayload } from "jose";
import type { Channel, Push, Socket } from "phoenix";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { buildApp } from "../../src/platform/gateway/app.js";
import { createJwtVerifier, type TokenVerifier } from "../../src/platform/gateway/jwt-verifier.js";
import { createRedisActionRateLimiter } from "../../src/platform/phoenix/action-rate-limiter.js";
import { createConnectionRegistry } from "../../src/platform/phoenix/connection-registry.js";
import { socketLimitsFromConfig, type SocketLimits } from "../../src/platform/phoenix/socket-route.js";
import { createServiceMetrics, type ServiceMetrics } from "../../src/infra/metrics/service-metrics.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import { createEchoFamily, type EchoFamily } from "../support/echo-channel.js";
import { connectSocket } from "../support/phoenix-client.js";
import { eventually, testConfig, testLogger } from "../support/test-config.js";

const config = testConfig();
const logger = testLogger();
const redis = createRedis(config.redis.url, logger, { name: "phoenix-socket-e2e" });

const limits: SocketLimits = {
  ...socketLimitsFromConfig(config),
  maxConnectionsPerUser: 3,
  maxBufferedBytes: 256 * 1_024,
  idleTimeoutMs: 1_500,
  rateLimits: { ...config.rateLimits, eventsPerMinute: 10 },
};

interface Running {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly echo: EchoFamily;
  readonly metrics: ServiceMetrics;
}

let verifier: TokenVerifier;

async function startServer(port = 0): Promise<Running> {
  const echo = createEchoFamily();
  const metrics = createServiceMetrics({ node: "phoenix-e2e" });
  const app = await buildApp({
    logger,
    metrics,
    version: "test",
    nodeId: "phoenix-e2e",
    probes: [],
    stats: () => ({ websocket_connections: 0, online_users: 0, active_calls: 0, active_huddles: 0 }),
    socket: { families: [echo], verifier, limits, redis, registry: createConnectionRegistry(limits) },
  });
  await app.listen({ port, host: "127.0.0.1" });
  return { app, port: (app.server.address() as AddressInfo).port, echo, metrics };
}

const secret = new TextEncoder().encode(config.auth.jwtSecret);
const now = () => Math.floor(Date.now() / 1000);

function token(userId: string, claims: JWTPayload = {}, alg: "HS256" = "HS256"): Promise<string> {
  return new SignJWT({ sub: userId, workspace_id: "ws-1", exp: now() + 600, ...claims }).setProtectedHeader({ alg }).sign(secret);
}

const newUser = () => `user-${randomUUID()}`;

type Wire = [string | null, string | null, string, string, Record<string, unknown>];

/** A bare `ws` client speaking raw frames. */
interface RawClient {
  readonly ws: WebSocket;
  readonly received: Wire[];
  send(frame: unknown): void;
  /** The next received frame matching `match` (frames already received count). */
  next(match: (frame: Wire) => boolean, timeoutMs?: number): Promise<Wire>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function rawClient(port: number, query: string): Promise<RawClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?${query}`);
  const received: Wire[] = [];
  const waiters: { match: (frame: Wire) => boolean; resolve: (frame: Wire) => void }[] = [];
  ws.on("message", (data: Buffer) => {
    const parsed = JSON.parse(data.toString()) as Wire | { join_ref: string; ref: string; topic: string; event: string; payload: Record<string, unknown> };
    const frame: Wire = Array.isArray(parsed) ? parsed : [parsed.join_ref, parsed.ref, parsed.topic, parsed.event, parsed.payload];
    received.push(frame);
    for (const waiter of waiters.filter((w) => w.match(frame))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(frame);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    received,
    closed,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next: (match, timeoutMs = 5_000) => {
      const seen = received.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, resolve: (frame) => (clearTimeout(timer), resolve(frame)) });
      });
    },
  };
}

const replyTo = (ref: string) => (frame: Wire) => frame[1] === ref && frame[3] === "phx_reply";

/** The HTTP status of a refused upgrade (or 101 if it was accepted). */
function upgradeStatus(port: number, query: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?${query}`, { headers });
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => {
      resolve(101);
      ws.close();
    });
    ws.once("error", (error) => (error.message.includes("Unexpected server response") ? undefined : reject(error)));
  });
}

/** A stock client with short heartbeats and backoffs, so reconnects happen within a test. */
function phoenixSocket(port: number, params: () => Record<string, unknown>): Socket {
  return connectSocket(`ws://127.0.0.1:${port}`, params, {
    heartbeatIntervalMs: 300,
    reconnectAfterMs: () => 100,
    rejoinAfterMs: () => 200,
    timeout: 3_000,
  });
}

function outcome(push: Push): Promise<{ status: string; response: Record<string, unknown> }> {
  return new Promise((resolve) => {
    push
      .receive("ok", (response: Record<string, unknown>) => resolve({ status: "ok", response }))
      .receive("error", (response: Record<string, unknown>) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout", response: {} }));
  });
}

describe("the Phoenix socket with the stock phoenix client", () => {
  let server: Running;
  const sockets: Socket[] = [];
  const raws: RawClient[] = [];

  const connect = (userId: string) => {
    const socket = phoenixSocket(server.port, () => ({ token: tokens.get(userId) }));
    sockets.push(socket);
    return socket;
  };
  /** The token each user's params closure hands out; tests replace it to simulate a refresh. */
  const tokens = new Map<string, string>();
  const raw = async (query: string) => {
    const client = await rawClient(server.port, query);
    raws.push(client);
    return client;
  };

  beforeAll(async () => {
    verifier = await createJwtVerifier(config.auth);
    server = await startServer();
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    for (const client of raws.splice(0)) client.ws.terminate();
  });

  afterAll(async () => {
    await server.app.close();
    await redis.quit();
  });

  it("connects with a token, joins, pushes and receives, and leaves", async () => {
    const user = newUser();
    tokens.set(user, await token(user));
    const socket = connect(user);
    socket.connect();
    const channel = socket.channel("echo:room", { hello: "there" });
    expect(await outcome(channel.join())).toEqual({ status: "ok", response: { topic: "echo:room", user_id: user } });
    expect(server.echo.record.joins.find((join) => join.userId === user)?.params).toEqual({ hello: "there" });

    expect(await outcome(channel.push("ping", { body: "hi" }))).toEqual({ status: "ok", response: { body: "hi" } });
    const pushed = new Promise((resolve) => channel.on("pushed", resolve));
    expect(await outcome(channel.push("push", { n: 7 }))).toMatchObject({ status: "ok" });
    expect(await pushed).toEqual({ n: 7 });
    expect(await outcome(channel.push("nope", {}))).toEqual({ status: "error", response: { reason: "unknown_event" } });

    const left = await outcome(channel.leave());
    expect(left.status).toBe("ok");
    await eventually(async () => (server.echo.record.leaves.includes("echo:room") ? true : undefined), 3_000, "leave()");
  });

  it("relays a refused join's reason to the client", async () => {
    const user = newUser();
    tokens.set(user, await token(user));
    const socket = connect(user);
    socket.connect();
    const channel = socket.channel("echo:forbidden");
    expect(await outcome(channel.join())).toEqual({ status: "error", response: { reason: "forbidden" } });
    const unknown = socket.channel("nowhere:1");
    expect(await outcome(unknown.join())).toEqual({ status: "error", response: { reason: "unmatched topic" } });
  });

  it("keeps a heartbeating socket open past the idle timeout", async () => {
    const user = newUser();
    tokens.set(user, await token(user));
    const socket = connect(user);
    let closes = 0;
    socket.onClose(() => {
      closes += 1;
    });
    socket.connect();
    const channel = socket.channel("echo:alive");
    expect((await outcome(channel.join())).status).toBe("ok");
    await new Promise((resolve) => setTimeout(resolve, limits.idleTimeoutMs * 2.5));
    expect(closes).toBe(0);
    expect(await outcome(channel.push("ping", { still: "here" }))).toEqual({ status: "ok", response: { still: "here" } });
  });

  it("closes a silent socket with 4002 after the idle timeout", async () => {
    const client = await raw(`vsn=2.0.0&token=${await token(newUser())}`);
    const started = Date.now();
    expect((await client.closed).code).toBe(4002);
    expect(Date.now() - started).toBeGreaterThanOrEqual(limits.idleTimeoutMs - 100);
  });

  it("reconnects with a fresh token when the token expires, and rejoins", async () => {
    const user = newUser();
    tokens.set(user, await token(user, { exp: now() + 2 }));
    const socket = connect(user);
    const closeCodes: number[] = [];
    socket.onClose((event: { code: number }) => {
      closeCodes.push(event.code);
    });
    socket.connect();
    const channel = socket.channel("echo:expiring");
    expect((await outcome(channel.join())).status).toBe("ok");
    const joinsBefore = server.echo.record.joins.filter((join) => join.userId === user).length;
    // The client re-evaluates `params` on every reconnect, so it comes back with this one.
    tokens.set(user, await token(user));
    await eventually(async () => (closeCodes.includes(4001) ? true : undefined), 8_000, "close 4001");
    await eventually(
      async () => (server.echo.record.joins.filter((join) => join.userId === user).length > joinsBefore ? true : undefined),
      8_000,
      "rejoin",
    );
    expect(await outcome(channel.push("ping", { after: "refresh" }))).toEqual({ status: "ok", response: { after: "refresh" } });
  });
});

describe("the Phoenix socket across a server restart", () => {
  it("answers pushes in flight, closes sockets with 1012 on graceful shutdown; the client reconnects and rejoins", async () => {
    verifier ??= await createJwtVerifier(config.auth);
    const first = await startServer();
    const user = newUser();
    const userToken = await token(user);
    const socket = phoenixSocket(first.port, () => ({ token: userToken }));
    const closeCodes: number[] = [];
    socket.onClose((event: { code: number }) => {
      closeCodes.push(event.code);
    });
    socket.connect();
    const channel: Channel = socket.channel("echo:durable");
    try {
      expect((await outcome(channel.join())).status).toBe("ok");

      const inFlight = outcome(channel.push("slow", { ms: 300 }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await first.app.close();
      expect(await inFlight).toEqual({ status: "ok", response: { ms: 300 } });
      expect(closeCodes).toContain(1012);
      expect(first.echo.record.leaves).toContain("echo:durable");

      const second = await startServer(first.port);
      try {
        await eventually(async () => (second.echo.record.joins.some((join) => join.userId === user) ? true : undefined), 10_000, "rejoin");
        expect(await outcome(channel.push("ping", { after: "restart" }))).toEqual({ status: "ok", response: { after: "restart" } });
      } finally {
        socket.disconnect();
        await second.app.close();
      }
    } finally {
      socket.disconnect();
    }
  });
});

describe("the Phoenix socket with raw frames", () => {
  let server: Running;
  const raws: RawClient[] = [];
  const raw = async (query: string) => {
    const client = await rawClient(server.port, query);
    raws.push(client);
    return client;
  };
  const joined = async (user = newUser(), topic = "echo:raw") => {
    const client = await raw(`vsn=2.0.0&token=${await token(user)}`);
    client.send(["1", "1", topic, "phx_join", {}]);
    expect((await client.next(replyTo("1")))[4]).toMatchObject({ status: "ok" });
    return client;
  };
  const heartbeatAnswered = async (client: RawClient, ref: string) => {
    client.send([null, ref, "phoenix", "heartbeat", {}]);
    expect(await client.next(replyTo(ref))).toEqual([null, ref, "phoenix", "phx_reply", { status: "ok", response: {} }]);
  };

  beforeAll(async () => {
    verifier ??= await createJwtVerifier(config.auth);
    server = await startServer();
  });

  afterEach(() => {
    for (const client of raws.splice(0)) client.ws.terminate();
  });

  afterAll(async () => {
    await server.app.close();
  });

  describe("refuses the upgrade over HTTP", () => {
    it.each([
      ["no token", async () => ""],
      ["a garbage token", async () => "token=garbage"],
      ["an expired token", async () => `token=${await token(newUser(), { exp: now() - 120 })}`],
      [
        "a forged token",
        async () =>
          `token=${await new SignJWT({ sub: "u", workspace_id: "w", exp: now() + 60 })
            .setProtectedHeader({ alg: "HS256" })
            .sign(new TextEncoder().encode("not-the-server-secret-but-long-enough!!"))}`,
      ],
      [
        "an alg:none token",
        async () => {
          const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
          return `token=${part({ alg: "none", typ: "JWT" })}.${part({ sub: "u", workspace_id: "w", exp: now() + 60 })}.`;
        },
      ],
      ["a token without workspace_id", async () => `token=${await token(newUser(), { workspace_id: undefined })}`],
    ])("401 for %s", async (_what, query) => {
      expect(await upgradeStatus(server.port, `vsn=2.0.0&${await query()}`)).toBe(401);
    });

    it("400 for an unsupported vsn", async () => {
      expect(await upgradeStatus(server.port, `vsn=3.0.0&token=${await token(newUser())}`)).toBe(400);
    });

    it("429 past the per-user connection limit, and accepts again once one closes", async () => {
      const user = newUser();
      const open = [];
      for (let i = 0; i < limits.maxConnectionsPerUser; i++) open.push(await raw(`vsn=2.0.0&token=${await token(user)}`));
      expect(await upgradeStatus(server.port, `vsn=2.0.0&token=${await token(user)}`)).toBe(429);
      expect(await upgradeStatus(server.port, `vsn=2.0.0&token=${await token(newUser())}`)).toBe(101);
      open[0]!.ws.close();
      await open[0]!.closed;
      await eventually(async () => ((await upgradeStatus(server.port, `vsn=2.0.0&token=${await token(user)}`)) === 101 ? true : undefined), 3_000);
    });

    it("404 for longpoll, 426 for a plain GET", async () => {
      const longpoll = await fetch(`http://127.0.0.1:${server.port}/socket/longpoll?vsn=2.0.0`);
      expect(longpoll.status).toBe(404);
      expect(await longpoll.json()).toMatchObject({ error: "longpoll_unsupported" });
      const plain = await fetch(`http://127.0.0.1:${server.port}/socket/websocket?vsn=2.0.0&token=${await token(newUser())}`);
      expect(plain.status).toBe(426);
    });

    it("accepts the token in the Sec-WebSocket-Protocol header (phoenix.js authToken)", async () => {
      const encoded = Buffer.from(await token(newUser())).toString("base64").replace(/=/g, "");
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket/websocket?vsn=2.0.0`, ["phoenix", `base64url.bearer.phx.${encoded}`]);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      expect(ws.protocol).toBe("phoenix");
      ws.close();
    });
  });

  describe("answers bad frames and keeps the socket", () => {
    it("drops invalid JSON and wrong arity (no ref to answer), and still answers heartbeats", async () => {
      const client = await raw(`vsn=2.0.0&token=${await token(newUser())}`);
      client.send("{not json");
      client.send('[null,"5","echo:raw","ping"]');
      client.send('[null,"6","echo:raw","ping",{},"extra"]');
      await heartbeatAnswered(client, "7");
      expect(client.received.map((frame) => frame[1])).toEqual(["7"]);
    });

    it("answers a non-object payload with invalid_message", async () => {
      const client = await raw(`vsn=2.0.0&token=${await token(newUser())}`);
      client.send(["1", "2", "echo:raw", "ping", "hello"]);
      expect((await client.next(replyTo("2")))[4]).toEqual({
        status: "error",
        response: { reason: "invalid_message", detail: "payload must be a JSON object" },
      });
    });

    it("answers an unknown topic and a push to a topic not joined with 'unmatched topic'", async () => {
      const client = await joined();
      client.send(["2", "2", "nowhere:1", "phx_join", {}]);
      client.send([null, "3", "echo:other", "ping", {}]);
      client.send(["old", "4", "echo:raw", "ping", {}]);
      for (const ref of ["2", "3", "4"]) {
        expect((await client.next(replyTo(ref)))[4]).toEqual({ status: "error", response: { reason: "unmatched topic" } });
      }
    });

    it("answers an oversized frame with payload_too_large, and closes with 1009 above the hard cap", async () => {
      const client = await joined();
      client.send(["1", "2", "echo:raw", "ping", { filler: "x".repeat(limits.maxFrameBytes + 1_000) }]);
      expect((await client.next(replyTo("2")))[4]).toEqual({
        status: "error",
        response: { reason: "payload_too_large", max_bytes: limits.maxFrameBytes },
      });
      await heartbeatAnswered(client, "3");
      client.send(["1", "4", "echo:raw", "ping", { filler: "x".repeat(limits.maxFrameBytes * 4 + 10) }]);
      expect((await client.closed).code).toBe(1009);
    });

    it("answers a binary push with binary_unsupported", async () => {
      const client = await joined();
      const names = ["1", "2", "echo:raw", "upload"].map((name) => Buffer.from(name));
      client.ws.send(Buffer.concat([Buffer.from([0, ...names.map((name) => name.length)]), ...names, Buffer.from([1, 2, 3])]));
      expect((await client.next(replyTo("2")))[4]).toEqual({ status: "error", response: { reason: "binary_unsupported" } });
    });

    it("turns a failing handler into phx_error for its channel only", async () => {
      const client = await joined();
      client.send(["1", "2", "echo:raw", "boom", {}]);
      expect((await client.next(replyTo("2")))[4]).toEqual({ status: "error", response: { reason: "internal" } });
      expect(await client.next((frame) => frame[3] === "phx_error")).toEqual(["1", "1", "echo:raw", "phx_error", {}]);
      await heartbeatAnswered(client, "3");
    });

    it("refuses the 101st channel with 'too many channels'", async () => {
      const client = await raw(`vsn=2.0.0&token=${await token(newUser())}`);
      for (let i = 0; i < limits.maxChannelsPerSocket; i++) client.send([`j${i}`, `j${i}`, `echo:many-${i}`, "phx_join", {}]);
      await client.next(replyTo(`j${limits.maxChannelsPerSocket - 1}`));
      client.send(["extra", "extra", "echo:one-too-many", "phx_join", {}]);
      expect((await client.next(replyTo("extra")))[4]).toEqual({ status: "error", response: { reason: "too many channels" } });
      const oks = client.received.filter((frame) => frame[3] === "phx_reply" && (frame[4] as { status: string }).status === "ok");
      expect(oks).toHaveLength(limits.maxChannelsPerSocket);
    });

    it("rate limits a user's pushes with rate_limited and retry_after_ms, but never heartbeats", async () => {
      const client = await joined();
      const allowed = limits.rateLimits.eventsPerMinute;
      for (let i = 0; i <= allowed; i++) client.send(["1", `p${i}`, "echo:raw", "ping", { i }]);
      const last = await client.next(replyTo(`p${allowed}`));
      expect(last[4]).toMatchObject({ status: "error", response: { reason: "rate_limited", retry_after_ms: expect.any(Number) } });
      const okCount = client.received.filter((frame) => frame[1]?.startsWith("p") && (frame[4] as { status: string }).status === "ok");
      expect(okCount).toHaveLength(allowed);
      for (let i = 0; i < 30; i++) await heartbeatAnswered(client, `h${i}`);
      const metrics = await server.metrics.registry.getSingleMetricAsString("websocket_rate_limited_total");
      expect(metrics).toMatch(/limit="event"[^\n]* [1-9]/);
    });

    it("closes a socket sending only garbage with 1008 while another client keeps being served", async () => {
      const good = await joined();
      const garbage = await raw(`vsn=2.0.0&token=${await token(newUser())}`);
      let served = 0;
      const pinging = (async () => {
        for (let i = 0; i < 20; i++) {
          good.send(["1", `g${i}`, "echo:raw", "slow", { ms: 5, i }]);
          await good.next(replyTo(`g${i}`));
          served += 1;
        }
      })();
      for (let i = 0; i < limits.maxBadFrames; i++) garbage.send(`garbage ${i} \u0000{[`);
      expect((await garbage.closed).code).toBe(1008);
      await pinging;
      expect(served).toBe(20);
    });

    it("speaks V1 objects when no vsn is given", async () => {
      const client = await raw(`token=${await token(newUser())}`);
      client.send({ topic: "echo:v1", event: "phx_join", payload: {}, ref: "1" });
      expect((await client.next(replyTo("1")))[4]).toMatchObject({ status: "ok" });
      client.send({ topic: "echo:v1", event: "ping", payload: { v: 1 }, ref: "2" });
      expect((await client.next(replyTo("2")))[4]).toEqual({ status: "ok", response: { v: 1 } });
    });
  });

  describe("protects itself", () => {
    it("closes a slow consumer with 1013 and counts it", async () => {
      const client = await joined();
      client.ws.pause();
      client.send(["1", "2", "echo:raw", "flood", { count: 400, size: 60_000 }]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      client.ws.resume();
      expect((await client.closed).code).toBe(1013);
      const metrics = await server.metrics.registry.getSingleMetricAsString("websocket_server_disconnects_total");
      expect(metrics).toMatch(/reason="slow_consumer"[^\n]* 1/);
    });

    it("reports open sockets on /metrics", async () => {
      await joined();
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      const text = await response.text();
      expect(text).toMatch(/websocket_connections_total\{[^}]*\} [1-9]/);
      expect(text).toMatch(/websocket_messages_total\{[^}]*direction="in"[^}]*type="join"/);
      expect(text).toMatch(/websocket_upgrade_refusals_total\{[^}]*reason=/);
    });
  });
});

describe("the Redis rate limiter", () => {
  const small = {
    joinsPerMinute: 5,
    eventsPerMinute: 4,
    totalPerMinute: 6,
    budgets: [
      { name: "message", perMinute: 3, events: ["message:send"] },
      { name: "typing", perMinute: 2, events: ["typing"] },
    ],
  };

  it("counts each event of a user separately and all of them together", async () => {
    const limiter = createRedisActionRateLimiter(redis, small, `test:ratelimit:${randomUUID()}`);
    const user = newUser();
    for (let i = 0; i < 3; i++) expect(await limiter.consume(user, "message:send")).toEqual({ allowed: true });
    expect(await limiter.consume(user, "message:send")).toMatchObject({ allowed: false, limit: "message", retryAfterMs: expect.any(Number) });
    expect(await limiter.consume(newUser(), "message:send")).toEqual({ allowed: true });
    expect(await limiter.consume(user, "invented:1")).toEqual({ allowed: true });
    expect(await limiter.consume(user, "invented:2")).toEqual({ allowed: true });
    // The refused message counted toward the total too: 6 consumed, so any further name is refused.
    expect(await limiter.consume(user, "invented:3")).toMatchObject({ allowed: false, limit: "total" });
  });

  it("gives back a refunded event to its budget and to the total", async () => {
    const limiter = createRedisActionRateLimiter(redis, small, `test:ratelimit:${randomUUID()}`);
    const user = newUser();
    for (let i = 0; i < 10; i++) {
      expect(await limiter.consume(user, "typing")).toEqual({ allowed: true });
      await limiter.refund(user, "typing");
    }
    for (let i = 0; i < 2; i++) expect(await limiter.consume(user, "typing")).toEqual({ allowed: true });
    expect(await limiter.consume(user, "typing")).toMatchObject({ allowed: false, limit: "typing" });
  });

  it("keeps limiting in memory while Redis is unreachable", async () => {
    const down = createRedis("redis://127.0.0.1:9", logger, { name: "unreachable", failFast: true });
    try {
      const limiter = createRedisActionRateLimiter(down, small, `test:ratelimit:${randomUUID()}`);
      const user = newUser();
      for (let i = 0; i < 2; i++) expect(await limiter.consume(user, "typing")).toEqual({ allowed: true });
      expect(await limiter.consume(user, "typing")).toMatchObject({ allowed: false, limit: "typing" });
    } finally {
      down.disconnect();
    }
  });
});
