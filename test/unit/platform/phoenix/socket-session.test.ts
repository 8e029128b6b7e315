import { describe, expect, it } from "vitest";
import type { ChannelFamily, ChannelOutlet, ChannelReply, JoinResult, SocketIdentity } from "../../../../src/platform/phoenix/channel.js";
import { CONTEXT_MODULES, loadConfig, settingsOf } from "../../../../src/contexts/index.js";
import { rateLimitOf, type ActionRateLimiter } from "../../../../src/platform/phoenix/action-rate-limiter.js";
import { socketLimitsFromConfig } from "../../../../src/platform/phoenix/socket-route.js";
import { createConnectionRegistry } from "../../../../src/platform/phoenix/connection-registry.js";
import type { DisconnectReason } from "../../../../src/platform/phoenix/disconnect-reasons.js";
import type { ProtocolVersion } from "../../../../src/platform/phoenix/phoenix-serializer.js";
import { SocketSession, type SessionLimits } from "../../../../src/platform/phoenix/socket-session.js";
import { createTopicRouter } from "../../../../src/platform/phoenix/topic-router.js";
import { createLogger } from "../../../../src/infra/log/logger.js";
import { createEchoFamily, type EchoFamily } from "../../../support/echo-channel.js";

const identity: SocketIdentity = { userId: "u1", workspaceId: "w1", connectionId: "c1", tokenExpiresAt: 2_000_000_000 };
const silent = createLogger({ level: "silent", name: "test" });

type Wire = [string | null, string | null, string, string, Record<string, unknown>];

interface Harness {
  readonly session: SocketSession;
  readonly echo: EchoFamily;
  /** Every frame sent, decoded from V2. */
  readonly sent: Wire[];
  readonly closes: DisconnectReason[];
  send(frame: unknown): Promise<void>;
  raw(data: string | Uint8Array, binary?: boolean): Promise<void>;
  /** Frames sent since the last call. */
  take(): Wire[];
}

function harness(
  options: {
    limits?: Partial<SessionLimits>;
    families?: ChannelFamily[];
    rateLimiter?: ActionRateLimiter;
    version?: ProtocolVersion;
    refreshToken?: (payload: Record<string, unknown>) => Promise<ChannelReply>;
  } = {},
): Harness {
  const echo = createEchoFamily();
  const sent: Wire[] = [];
  const closes: DisconnectReason[] = [];
  const version = options.version ?? "2.0.0";
  let taken = 0;
  const session = new SocketSession({
    identity,
    version,
    router: createTopicRouter([echo, ...(options.families ?? [])]),
    limits: { maxChannels: 100, maxFrameBytes: 1_024, maxBadFrames: 10, maxPendingFrames: 1_000, ...options.limits },
    logger: silent,
    ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
    ...(options.refreshToken ? { refreshToken: options.refreshToken } : {}),
    transport: {
      send: (text) => {
        const parsed = JSON.parse(text.toString()) as Wire | { join_ref: string | null; ref: string | null; topic: string; event: string; payload: Record<string, unknown> };
        sent.push(Array.isArray(parsed) ? parsed : [parsed.join_ref, parsed.ref, parsed.topic, parsed.event, parsed.payload]);
      },
      close: (reason) => closes.push(reason),
    },
  });
  const raw = async (data: string | Uint8Array, binary = false) => {
    session.receive(data, binary);
    await session.drained();
  };
  return {
    session,
    echo,
    sent,
    closes,
    raw,
    send: (frame) => raw(JSON.stringify(frame)),
    take: () => {
      const fresh = sent.slice(taken);
      taken = sent.length;
      return fresh;
    },
  };
}

const reply = (joinRef: string | null, ref: string | null, topic: string, status: "ok" | "error", response: Record<string, unknown>): Wire => [
  joinRef,
  ref,
  topic,
  "phx_reply",
  { status, response },
];

/** A family whose joins resolve when the test says so. */
function deferredFamily(prefix: string) {
  const pending: { topic: string; outlet: ChannelOutlet; resolve: (result: JoinResult) => void }[] = [];
  const leaves: string[] = [];
  const family: ChannelFamily = {
    prefix,
    join: (topic, _params, _identity, outlet) => new Promise((resolve) => pending.push({ topic, outlet, resolve })),
  };
  const ok = (topic: string): JoinResult => ({
    status: "ok",
    response: {},
    channel: { handleIn: async () => ({ status: "ok", response: {} }), leave: async () => void leaves.push(topic) },
  });
  return { family, pending, leaves, ok };
}

describe("a socket session", () => {
  describe("heartbeats", () => {
    it("answers ok {} on topic phoenix under the heartbeat's ref", async () => {
      const h = harness();
      await h.send([null, "1", "phoenix", "heartbeat", {}]);
      expect(h.take()).toEqual([reply(null, "1", "phoenix", "ok", {})]);
    });

    it("never asks the rate limiter", async () => {
      let asked = 0;
      const h = harness({
        rateLimiter: { consume: async () => ((asked += 1), { allowed: false, limit: "event", retryAfterMs: 1 }), refund: () => Promise.resolve() },
      });
      for (let i = 0; i < 50; i++) await h.send([null, String(i), "phoenix", "heartbeat", {}]);
      expect(asked).toBe(0);
      expect(h.take().every((frame) => (frame[4] as { status: string }).status === "ok")).toBe(true);
    });
  });

  describe("joining", () => {
    it("replies ok with the family's response under the join ref", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", { hello: true }]);
      expect(h.take()).toEqual([reply("1", "1", "echo:a", "ok", { topic: "echo:a", user_id: "u1" })]);
      expect(h.echo.record.joins[0]).toMatchObject({ topic: "echo:a", userId: "u1", connectionId: "c1", params: { hello: true } });
      expect(h.session.channelCount).toBe(1);
    });

    it("relays a refusal's reason", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:forbidden", "phx_join", {}]);
      expect(h.take()).toEqual([reply("1", "1", "echo:forbidden", "error", { reason: "forbidden" })]);
      expect(h.session.channelCount).toBe(0);
    });

    it("answers a topic no family serves with 'unmatched topic'", async () => {
      const h = harness();
      await h.send(["1", "1", "nowhere:1", "phx_join", {}]);
      expect(h.take()).toEqual([reply(null, "1", "nowhere:1", "error", { reason: "unmatched topic" })]);
    });

    it("turns a join that throws into an error reply and keeps the socket", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:crash", "phx_join", {}]);
      await h.send([null, "2", "phoenix", "heartbeat", {}]);
      expect(h.take()).toEqual([reply("1", "1", "echo:crash", "error", { reason: "internal" }), reply(null, "2", "phoenix", "ok", {})]);
      expect(h.closes).toEqual([]);
    });

    it("closes the old join with phx_close when a joined topic is joined again", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["3", "3", "echo:a", "phx_join", {}]);
      expect(h.take().slice(1)).toEqual([["1", "1", "echo:a", "phx_close", {}], reply("3", "3", "echo:a", "ok", { topic: "echo:a", user_id: "u1" })]);
      expect(h.echo.record.leaves).toEqual(["echo:a"]);
      expect(h.session.channelCount).toBe(1);
      await h.send(["3", "4", "echo:a", "ping", { n: 1 }]);
      expect(h.take()).toEqual([reply("3", "4", "echo:a", "ok", { n: 1 })]);
    });

    it("refuses the 101st channel with 'too many channels', and accepts it after a leave", async () => {
      const h = harness();
      for (let i = 0; i < 100; i++) await h.send([String(i), String(i), `echo:${i}`, "phx_join", {}]);
      h.take();
      await h.send(["x", "x", "echo:extra", "phx_join", {}]);
      expect(h.take()).toEqual([reply("x", "x", "echo:extra", "error", { reason: "too many channels" })]);
      await h.send(["0", "y", "echo:0", "phx_leave", {}]);
      await h.send(["z", "z", "echo:extra", "phx_join", {}]);
      expect(h.take().at(-1)).toEqual(reply("z", "z", "echo:extra", "ok", { topic: "echo:extra", user_id: "u1" }));
    });

    it("counts joins still running against the channel limit", async () => {
      const deferred = deferredFamily("slow:");
      const h = harness({ families: [deferred.family], limits: { maxChannels: 2 } });
      h.session.receive(JSON.stringify(["1", "1", "slow:1", "phx_join", {}]), false);
      h.session.receive(JSON.stringify(["2", "2", "slow:2", "phx_join", {}]), false);
      h.session.receive(JSON.stringify(["3", "3", "echo:a", "phx_join", {}]), false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(h.take()).toEqual([reply("3", "3", "echo:a", "error", { reason: "too many channels" })]);
      for (const join of deferred.pending) join.resolve(deferred.ok(join.topic));
      await h.session.drained();
      expect(h.session.channelCount).toBe(2);
    });

    it("holds server pushes made during the join until after its reply", async () => {
      const deferred = deferredFamily("slow:");
      const h = harness({ families: [deferred.family] });
      h.session.receive(JSON.stringify(["1", "1", "slow:1", "phx_join", {}]), false);
      await new Promise((resolve) => setImmediate(resolve));
      const join = deferred.pending[0]!;
      join.outlet.push("early", { n: 1 });
      expect(h.sent).toEqual([]);
      join.resolve(deferred.ok("slow:1"));
      await h.session.drained();
      expect(h.take()).toEqual([reply("1", "1", "slow:1", "ok", {}), [null, null, "slow:1", "early", { n: 1 }]]);
    });
  });

  describe("leaving", () => {
    it("runs leave(), replies ok, then sends phx_close", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      await h.send(["1", "2", "echo:a", "phx_leave", {}]);
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "ok", {}), ["1", "1", "echo:a", "phx_close", {}]]);
      expect(h.echo.record.leaves).toEqual(["echo:a"]);
      await h.send(["1", "3", "echo:a", "ping", {}]);
      expect(h.take()).toEqual([reply(null, "3", "echo:a", "error", { reason: "unmatched topic" })]);
    });

    it("acknowledges leaving a topic that is not joined", async () => {
      const h = harness();
      await h.send(["9", "2", "echo:a", "phx_leave", {}]);
      expect(h.take()).toEqual([reply("9", "2", "echo:a", "ok", {})]);
    });

    it("does not let a leave of an earlier join end the current one", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["3", "3", "echo:a", "phx_join", {}]);
      await h.send(["1", "4", "echo:a", "phx_leave", {}]);
      expect(h.session.channelCount).toBe(1);
      expect(h.echo.record.leaves).toEqual(["echo:a"]);
    });
  });

  describe("client pushes", () => {
    it("go to the channel's handleIn; its reply goes back under the push's ref", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      await h.send(["1", "2", "echo:a", "ping", { body: "hi" }]);
      await h.send(["1", "3", "echo:a", "other", {}]);
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "ok", { body: "hi" }), reply("1", "3", "echo:a", "error", { reason: "unknown_event" })]);
    });

    it("of access_token go to the socket's token refresh, not to the channel, on any joined topic", async () => {
      const refreshed: Record<string, unknown>[] = [];
      const h = harness({
        refreshToken: async (payload) => {
          refreshed.push(payload);
          return { status: "ok", response: { expires_at: 7 } };
        },
      });
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      await h.send(["1", "2", "echo:a", "access_token", { access_token: "t" }]);
      await h.send(["9", "3", "echo:b", "access_token", { access_token: "t" }]);
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "ok", { expires_at: 7 }), reply(null, "3", "echo:b", "error", { reason: "unmatched topic" })]);
      expect(refreshed).toEqual([{ access_token: "t" }]);
    });

    it("to a topic not joined get 'unmatched topic'", async () => {
      const h = harness();
      await h.send(["1", "2", "echo:a", "ping", {}]);
      expect(h.take()).toEqual([reply(null, "2", "echo:a", "error", { reason: "unmatched topic" })]);
    });

    it("under a stale join ref get 'unmatched topic'; without a join ref (V1) they reach the channel", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["5", "5", "echo:a", "phx_join", {}]);
      h.take();
      await h.send(["1", "6", "echo:a", "ping", {}]);
      await h.send([null, "7", "echo:a", "ping", {}]);
      expect(h.take()).toEqual([reply(null, "6", "echo:a", "error", { reason: "unmatched topic" }), reply("5", "7", "echo:a", "ok", {})]);
    });

    it("start in order per channel, and a slow reply holds back neither its channel nor the others", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["2", "2", "echo:b", "phx_join", {}]);
      h.take();
      h.session.receive(JSON.stringify(["1", "3", "echo:a", "slow", { ms: 40 }]), false);
      h.session.receive(JSON.stringify(["1", "4", "echo:a", "ping", {}]), false);
      h.session.receive(JSON.stringify(["2", "5", "echo:b", "ping", {}]), false);
      await h.session.drained();
      const order = h.take().map((frame) => frame[1]);
      expect(order.at(-1)).toBe("3");
      expect(order.slice(0, 2).sort()).toEqual(["4", "5"]);
    });

    it("from a failing handler cost the channel (phx_error) but not the socket", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["2", "2", "echo:b", "phx_join", {}]);
      h.take();
      await h.send(["1", "3", "echo:a", "boom", {}]);
      expect(h.take()).toEqual([reply("1", "3", "echo:a", "error", { reason: "internal" }), ["1", "1", "echo:a", "phx_error", {}]]);
      expect(h.echo.record.leaves).toEqual(["echo:a"]);
      expect(h.closes).toEqual([]);
      await h.send(["1", "4", "echo:a", "ping", {}]);
      await h.send(["2", "5", "echo:b", "ping", {}]);
      expect(h.take()).toEqual([reply(null, "4", "echo:a", "error", { reason: "unmatched topic" }), reply("2", "5", "echo:b", "ok", {})]);
    });

    it("treat a reply that is not {status, response} as a handler failure", async () => {
      const broken: ChannelFamily = {
        prefix: "broken:",
        join: async () => ({
          status: "ok",
          response: {},
          channel: { handleIn: async () => undefined as never, leave: async () => undefined },
        }),
      };
      const h = harness({ families: [broken] });
      await h.send(["1", "1", "broken:1", "phx_join", {}]);
      await h.send(["1", "2", "broken:1", "x", {}]);
      expect(h.take().slice(1)).toEqual([reply("1", "2", "broken:1", "error", { reason: "internal" }), ["1", "1", "broken:1", "phx_error", {}]]);
    });

    it("get an internal error when the handler's reply cannot be serialized", async () => {
      const odd: ChannelFamily = {
        prefix: "odd:",
        join: async () => ({
          status: "ok",
          response: {},
          channel: { handleIn: async () => ({ status: "ok", response: { n: 1n } }), leave: async () => undefined },
        }),
      };
      const h = harness({ families: [odd] });
      await h.send(["1", "1", "odd:1", "phx_join", {}]);
      await h.send(["1", "2", "odd:1", "x", {}]);
      expect(h.take().at(-1)).toEqual(reply("1", "2", "odd:1", "error", { reason: "internal" }));
    });

    it("beyond the pending limit get 'overloaded'", async () => {
      const h = harness({ limits: { maxPendingFrames: 2 } });
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      for (const ref of ["2", "3", "4"]) h.session.receive(JSON.stringify(["1", ref, "echo:a", "slow", { ms: 10 }]), false);
      await h.session.drained();
      expect(h.take()).toEqual([
        reply("1", "4", "echo:a", "error", { reason: "overloaded" }),
        reply("1", "2", "echo:a", "ok", { ms: 10 }),
        reply("1", "3", "echo:a", "ok", { ms: 10 }),
      ]);
    });
  });

  describe("server-side close", () => {
    it("sends phx_close with the reason and runs leave()", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      h.echo.record.outlets.get("echo:a")!.close("membership revoked");
      await h.session.drained();
      expect(h.take()).toEqual([["1", "1", "echo:a", "phx_close", { reason: "membership revoked" }]]);
      expect(h.echo.record.leaves).toEqual(["echo:a"]);
      h.echo.record.outlets.get("echo:a")!.push("late", {});
      h.echo.record.outlets.get("echo:a")!.close("again");
      expect(h.take()).toEqual([]);
    });

    it("requested by the handler of a push follows that push's reply", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      await h.send(["1", "2", "echo:a", "close", {}]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "ok", {}), ["1", "1", "echo:a", "phx_close", { reason: "requested" }]]);
    });
  });

  describe("rate limits", () => {
    it("refuse a push with rate_limited and retry_after_ms; the socket stays", async () => {
      const limited = new Set(["ping"]);
      const h = harness({
        rateLimiter: {
          consume: async (_user, event) => (limited.has(event) ? { allowed: false, limit: "event", retryAfterMs: 1_500 } : { allowed: true }),
          refund: () => Promise.resolve(),
        },
      });
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["1", "2", "echo:a", "ping", {}]);
      await h.send(["1", "3", "echo:a", "phx_leave", {}]);
      expect(h.take()).toEqual([
        reply("1", "1", "echo:a", "ok", { topic: "echo:a", user_id: "u1" }),
        reply("1", "2", "echo:a", "error", { reason: "rate_limited", retry_after_ms: 1_500 }),
        reply("1", "3", "echo:a", "ok", {}),
        ["1", "1", "echo:a", "phx_close", {}],
      ]);
      expect(h.closes).toEqual([]);
    });

    it("give back the charge of a push its channel answers as free, and only of such a push", async () => {
      const charged: string[] = [];
      const h = harness({
        rateLimiter: {
          consume: async (user, event) => (charged.push(`${user} ${event}`), { allowed: true }),
          refund: async (user, event) => void charged.splice(charged.indexOf(`${user} ${event}`), 1),
        },
      });
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["1", "2", "echo:a", "free", { n: 1 }]);
      await h.send(["1", "3", "echo:a", "free", { n: 2 }]);
      await h.send(["1", "4", "echo:a", "ping", {}]);
      expect(h.take().slice(1, 3)).toEqual([reply("1", "2", "echo:a", "ok", { n: 1 }), reply("1", "3", "echo:a", "ok", { n: 2 })]);
      expect(charged).toEqual(["u1 phx_join", "u1 ping"]);
    });
  });

  describe("bad input", () => {
    it("answers a readable but invalid frame with an error reply", async () => {
      const h = harness();
      await h.raw('["1","2","echo:a","ping","not an object"]');
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "error", { reason: "invalid_message", detail: "payload must be a JSON object" })]);
    });

    it("answers an oversized frame with payload_too_large", async () => {
      const h = harness();
      await h.send(["1", "2", "echo:a", "ping", { filler: "x".repeat(2_000) }]);
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "error", { reason: "payload_too_large", max_bytes: 1_024 })]);
    });

    it("answers a binary push with binary_unsupported", async () => {
      const h = harness();
      const names = ["1", "2", "echo:a", "file"].map((name) => [...new TextEncoder().encode(name)]);
      await h.raw(new Uint8Array([0, ...names.map((name) => name.length), ...names.flat(), 1, 2, 3]), true);
      expect(h.take()).toEqual([reply("1", "2", "echo:a", "error", { reason: "binary_unsupported" })]);
    });

    it("drops garbage, and closes the socket after maxBadFrames in a row", async () => {
      const h = harness({ limits: { maxBadFrames: 3 } });
      await h.raw("garbage");
      await h.raw("{{");
      await h.send([null, "1", "phoenix", "heartbeat", {}]);
      await h.raw("garbage");
      await h.raw("[1,2]");
      expect(h.closes).toEqual([]);
      await h.raw("garbage");
      expect(h.closes).toEqual(["protocolViolation"]);
      expect(h.take()).toEqual([reply(null, "1", "phoenix", "ok", {})]);
      await h.send([null, "2", "phoenix", "heartbeat", {}]);
      expect(h.take()).toEqual([]);
    });
  });

  describe("termination", () => {
    it("leaves every channel and sends nothing more", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      await h.send(["2", "2", "echo:b", "phx_join", {}]);
      h.take();
      await h.session.terminate();
      expect(h.echo.record.leaves.sort()).toEqual(["echo:a", "echo:b"]);
      await h.send([null, "3", "phoenix", "heartbeat", {}]);
      expect(h.take()).toEqual([]);
    });

    it("leaves a channel whose join completes after the socket is gone", async () => {
      const deferred = deferredFamily("slow:");
      const h = harness({ families: [deferred.family] });
      h.session.receive(JSON.stringify(["1", "1", "slow:1", "phx_join", {}]), false);
      await new Promise((resolve) => setImmediate(resolve));
      await h.session.terminate();
      deferred.pending[0]!.resolve(deferred.ok("slow:1"));
      await h.session.drained();
      expect(deferred.leaves).toEqual(["slow:1"]);
      expect(h.sent).toEqual([]);
    });
  });

  describe("a graceful close", () => {
    it("lets frames in flight finish, refuses new ones with shutting_down, and still answers heartbeats", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.take();
      h.session.receive(JSON.stringify(["1", "2", "echo:a", "slow", { ms: 30 }]), false);
      const quiet = h.session.quiesce(1_000);
      h.session.receive(JSON.stringify(["1", "3", "echo:a", "ping", {}]), false);
      h.session.receive(JSON.stringify([null, "4", "phoenix", "heartbeat", {}]), false);
      await quiet;
      expect(h.take()).toEqual([
        reply("1", "3", "echo:a", "error", { reason: "shutting_down" }),
        reply(null, "4", "phoenix", "ok", {}),
        reply("1", "2", "echo:a", "ok", { ms: 30 }),
      ]);
    });

    it("does not wait longer than its timeout", async () => {
      const h = harness();
      await h.send(["1", "1", "echo:a", "phx_join", {}]);
      h.session.receive(JSON.stringify(["1", "2", "echo:a", "slow", { ms: 500 }]), false);
      const started = Date.now();
      await h.session.quiesce(50);
      expect(Date.now() - started).toBeLessThan(400);
    });
  });

  describe("over V1", () => {
    it("joins and pushes with objects and no join_ref", async () => {
      const h = harness({ version: "1.0.0" });
      await h.send({ topic: "echo:a", event: "phx_join", payload: {}, ref: "1" });
      await h.send({ topic: "echo:a", event: "ping", payload: { v: 1 }, ref: "2" });
      expect(h.take()).toEqual([reply("1", "1", "echo:a", "ok", { topic: "echo:a", user_id: "u1" }), reply("1", "2", "echo:a", "ok", { v: 1 })]);
    });
  });
});

describe("the topic router", () => {
  const family = (prefix: string): ChannelFamily => ({ prefix, join: async () => ({ status: "error", response: { reason: "forbidden" } }) });

  it("prefers an exact topic, then the longest prefix", () => {
    const route = createTopicRouter([family("webrtc:"), family("webrtc:lobby"), family("webrtc:call:")]);
    expect(route("webrtc:lobby")?.prefix).toBe("webrtc:lobby");
    expect(route("webrtc:call:1")?.prefix).toBe("webrtc:call:");
    expect(route("webrtc:x")?.prefix).toBe("webrtc:");
    expect(route("webrtc:lobby2")?.prefix).toBe("webrtc:");
    expect(route("other:1")).toBeUndefined();
  });

  it("refuses two families with the same prefix", () => {
    expect(() => createTopicRouter([family("chat:"), family("chat:")])).toThrow(/chat:/);
  });
});

describe("the connection registry", () => {
  const connection = (userId: string, close: (reason: DisconnectReason) => Promise<void>, connectionId = `${userId}-1`) => ({ userId, connectionId, tokenIssuedAt: undefined, close, extend: () => undefined });

  it("lists the open sockets of a user", () => {
    const registry = createConnectionRegistry({ maxConnectionsPerUser: 5 });
    for (const [user, id] of [["a", "a-1"], ["b", "b-1"], ["a", "a-2"]] as const) {
      registry.reserve(user);
      registry.register(connection(user, async () => undefined, id));
    }
    expect(registry.connectionsOf("a").map((open) => open.connectionId)).toEqual(["a-1", "a-2"]);
    expect(registry.connectionsOf("c")).toEqual([]);
  });

  it("holds at most maxConnectionsPerUser slots per user, and frees them", () => {
    const registry = createConnectionRegistry({ maxConnectionsPerUser: 2 });
    expect(registry.reserve("a")).toBe("reserved");
    expect(registry.reserve("a")).toBe("reserved");
    expect(registry.reserve("a")).toBe("limit");
    expect(registry.reserve("b")).toBe("reserved");
    registry.release("a");
    expect(registry.reserve("a")).toBe("reserved");
  });

  it("frees a registered socket's slot when it is removed, once", () => {
    const registry = createConnectionRegistry({ maxConnectionsPerUser: 1 });
    registry.reserve("a");
    const remove = registry.register(connection("a", async () => undefined));
    expect(registry.size).toBe(1);
    expect(registry.reserve("a")).toBe("limit");
    remove();
    remove();
    expect(registry.size).toBe(0);
    expect(registry.reserve("a")).toBe("reserved");
    expect(registry.reserve("a")).toBe("limit");
  });

  it("closes every socket on closeAll, refuses new slots, and closes latecomers", async () => {
    const registry = createConnectionRegistry({ maxConnectionsPerUser: 5 });
    const closed: string[] = [];
    registry.reserve("a");
    registry.register(connection("a", async (reason) => void closed.push(`a:${reason}`)));
    registry.reserve("late");
    await registry.closeAll("shutdown");
    expect(closed).toEqual(["a:shutdown"]);
    expect(registry.reserve("b")).toBe("closing");
    registry.register(connection("late", async (reason) => void closed.push(`late:${reason}`)));
    await Promise.resolve();
    expect(closed).toEqual(["a:shutdown", "late:shutdown"]);
  });
});

describe("rate limit classes", () => {
  it("gives chat messages, typing, call signals and joins their own budgets and every other event the default", () => {
    const config = loadConfig({});
    const limits = socketLimitsFromConfig(config, CONTEXT_MODULES.flatMap((module) => module.rateLimits?.(settingsOf(config, module) as never) ?? [])).rateLimits;
    expect(rateLimitOf(limits, "message:send")).toBe("message");
    expect(rateLimitOf(limits, "new_message")).toBe("message");
    expect(rateLimitOf(limits, "typing:start")).toBe("typing");
    expect(rateLimitOf(limits, "typing")).toBe("typing");
    expect(rateLimitOf(limits, "phx_join")).toBe("join");
    expect(rateLimitOf(limits, "webrtc:ice-candidate")).toBe("signals");
    expect(rateLimitOf(limits, "ice_candidate")).toBe("signals");
    expect(rateLimitOf(limits, "call:initiate")).toBe("event");
    // REST sends draw from the sends' budget, not a route budget of their own.
    expect(rateLimitOf(limits, "POST /api/conversations/:id/messages")).toBe("message");
  });
});
