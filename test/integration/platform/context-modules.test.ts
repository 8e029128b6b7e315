import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { openProjectionTools } from "../../../src/cli/projection-tools.js";
import { start, type Running } from "../../../src/cli/start.js";
import { CONTEXT_MODULES } from "../../../src/contexts/index.js";
import { defineContext } from "../../../src/platform/context-module.js";
import { TOPICS } from "../../../src/platform/contract/topics.js";
import type { RebuildableSink } from "../../../src/platform/projection/rebuild.js";
import { connectSocket, joinChannel, pushTo } from "../../support/phoenix-client.js";
import { freePort } from "../../support/service-process.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "../../support/tokens.js";

/** A read model that keeps nothing: enough for the tools to list it. */
const emptyStore = (): RebuildableSink => ({
  checkpoints: () => Promise.resolve(new Map()),
  apply: (_topic, _partition, records) => Promise.resolve(records),
  clear: () => Promise.resolve(),
});

/** A context that exists only in this test: if the roles and tools iterate the list, it appears everywhere. */
const probe = defineContext({
  name: "probe",
  rateLimits: () => [{ name: "probe", perMinute: 1, events: ["probe:ping"] }],
  projections: () => [{ name: "probe", topic: TOPICS.typing.events, store: emptyStore, start: () => Promise.resolve({ state: () => "live" as const, close: () => Promise.resolve() }) }],
  gateway: () =>
    Promise.resolve({
      families: [
        {
          prefix: "probe:",
          join: () =>
            Promise.resolve({
              status: "ok" as const,
              response: { probed: true },
              channel: { handleIn: () => Promise.resolve({ status: "ok" as const, response: { pong: true } }), leave: () => Promise.resolve() },
            }),
        },
      ],
      userChannel: (identity, outlet) => {
        outlet.push("probe_hello", { userId: identity.userId });
        return Promise.resolve({ leave: () => undefined });
      },
      routes: async (app) => {
        app.get("/api/probe", { schema: { tags: ["probe"] } }, async () => ({ probed: true }));
      },
      stats: () => ({ probe_counter: 7 }),
    }),
});

describe("the contexts list wires every role and tool", () => {
  const prefix = uniquePrefix("modules");
  let running: Running | undefined;
  let base = "";

  beforeAll(async () => {
    const port = await freePort();
    const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, PORT: String(port), HOST: "127.0.0.1", QUIKCHAT_STACK: "off", JWT_SECRET: TEST_JWT_SECRET });
    running = await start(config, testLogger(), "all", [...CONTEXT_MODULES, probe]);
    base = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    await running?.shutdown("test over");
  });

  it("serves a listed context's routes, in the OpenAPI document, and its counters in /health", async () => {
    expect(await (await fetch(`${base}/api/probe`)).json()).toEqual({ probed: true });
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(["/api/probe", "/api/conversations", "/api/presence/online"]));
    const health = (await (await fetch(`${base}/health`)).json()) as { stats: Record<string, number>; parts: Record<string, string> };
    expect(health.stats).toMatchObject({ probe_counter: 7, websocket_connections: 0, online_users: 0 });
    expect(Object.keys(health.parts).sort()).toEqual([
      "notifier:notifications",
      "processor:calls",
      "processor:channels",
      "processor:comments",
      "processor:conversations",
      "processor:devices",
      "processor:huddles",
      "processor:notifications",
      "processor:presence",
      "processor:sessions",
      "processor:typing",
      "projection:channels",
      "projection:comments",
      "projection:devices",
      "projection:history",
      "projection:huddle-connections",
      "projection:huddle-history",
      "projection:huddle-lost-connections",
      "projection:huddle-signal-relay",
      "projection:live-calls",
      "projection:live-huddles",
      "projection:membership",
      "projection:mutes",
      "projection:notify-calls",
      "projection:notify-huddles",
      "projection:notify-messages",
      "projection:presence",
      "projection:probe",
      "projection:read-positions",
      "projection:recordings",
      "projection:sessions",
      "projection:signal-relay",
      "projection:typing",
      "projection:users",
    ]);
    expect(health.stats).toHaveProperty("active_calls", 0);
  });

  it("serves its channel family, its part of the user channel and its rate-limit budget on the socket", async () => {
    const socket = connectSocket(base, { token: await tokenFor("probe-user", "w-probe") });
    try {
      const pushes: string[] = [];
      const user = socket.channel("user:probe-user");
      user.on("probe_hello", () => void pushes.push("probe_hello"));
      await joinChannel(user);
      await expect.poll(() => pushes).toContain("probe_hello");
      const channel = socket.channel("probe:anything");
      expect(await joinChannel(channel)).toEqual({ probed: true });
      const first = await pushTo(channel, "probe:ping", {});
      const second = await pushTo(channel, "probe:ping", {});
      expect([first.status, second.response.reason]).toEqual(["ok", "rate_limited"]);
    } finally {
      socket.disconnect();
    }
  });

  it("lists its projection in the tools", async () => {
    const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, QUIKCHAT_STACK: "off" });
    const { codec } = await bootstrapContract(config, testLogger());
    const tools = await openProjectionTools(config, testLogger(), codec, [...CONTEXT_MODULES, probe]);
    try {
      expect(tools.names()).toEqual(["membership", "history", "read-positions", "mutes", "presence", "typing", "users", "sessions", "channels", "comments", "live-calls", "signal-relay", "recordings", "live-huddles", "huddle-signal-relay", "huddle-history", "huddle-connections", "huddle-lost-connections", "devices", "notify-messages", "notify-calls", "notify-huddles", "probe"]);
      expect((await tools.status()).map((status) => status.projection)).toContain("probe");
    } finally {
      await tools.close();
    }
  });
});
