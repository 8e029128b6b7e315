import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../../../../src/contexts/index.js";
import { ConfigError, defineSlice, loadSlices, positiveInt } from "../../../../src/platform/config/config-slice.js";

describe("loadConfig", () => {
  it("points every dependency at the local stack when nothing is set", () => {
    const config = loadConfig({});
    expect(config.service.port).toBe(4000);
    expect(config.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(config.registry.url).toBe("http://127.0.0.1:8081/apis/ccompat/v7");
    expect(config.redis.url).toBe("redis://127.0.0.1:6379");
    expect(config.mysql.url).toBe("mysql://root@127.0.0.1:3306/quikchat_realtime");
    expect(config.mongo.url).toBe("mongodb://127.0.0.1:27017/quikchat");
    expect(config.conversations.historyStore).toBe("mysql");
    expect(config.presence.gatewayStaleMs).toBe(15_000);
    expect(config.typing).toEqual({ timeoutMs: 5_000, coalesceMs: 2_000, perMinute: 60 });
    expect(config.stack.mode).toBe("auto");
  });

  it("reads the seeds' variables", () => {
    const config = loadConfig({
      PORT: "4100",
      KAFKA_BROKERS: "k1:9092, k2:9092",
      REDIS_URL: "redis://cache:6379/2",
      DATABASE_URL: "mysql://user:pass@db/quckchat_realtime",
      MONGODB_URL: "mongodb://mongo:27017/quckchat",
      JWT_SECRET: "s".repeat(40),
      POOL_SIZE: "20",
      HISTORY_STORE: "mongo",
    });
    expect(config.service.port).toBe(4100);
    expect(config.kafka.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect(config.mongo.url).toBe("mongodb://mongo:27017/quckchat");
    expect(config.mysql.poolSize).toBe(20);
    expect(config.conversations.historyStore).toBe("mongo");
  });

  it("serves the server API only with keys, each long enough", () => {
    expect(loadConfig({}).serverApi).toEqual({ keys: [], grpcPort: 50054 });
    expect(loadConfig({ SERVER_API_KEYS: "k".repeat(16) + ", " + "j".repeat(20), GRPC_PORT: "50100" }).serverApi).toEqual({ keys: ["k".repeat(16), "j".repeat(20)], grpcPort: 50100 });
    expect(() => loadConfig({ SERVER_API_KEYS: "short" })).toThrow(/SERVER_API_KEYS: each key must be at least 16 characters/);
  });

  it("reports every problem at once", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "nope", KAFKA_BROKERS: "no-port", REDIS_URL: "http://x", HISTORY_STORE: "cassandra", POOL_SIZE: "-1" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((problem: string) => problem.split(":")[0]);
    expect(problems).toEqual(expect.arrayContaining(["PORT", "KAFKA_BROKERS", "REDIS_URL", "HISTORY_STORE", "POOL_SIZE"]));
    expect((error as ConfigError).message).toContain("invalid configuration");
  });

  it("reports the rules between variables of one slice along with invalid variables of others", () => {
    const problems = (() => {
      try {
        loadConfig({ PORT: "abc", HISTORY_STORE: "postgres", NODE_ENV: "production", JWT_SECRET: "short", TYPING_COALESCE_MS: "9000" });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT:/),
        expect.stringMatching(/^HISTORY_STORE:/),
        expect.stringMatching(/^JWT_SECRET: must be at least 32 characters/),
        expect.stringMatching(/^TYPING_COALESCE_MS: must be below/),
      ]),
    );
  });

  it("ignores variables it does not read (another framework's), and validates those of the notifications, which it does", () => {
    expect(() => loadConfig({ SECRET_KEY_BASE: "x" })).not.toThrow();
    expect(() => loadConfig({ EMAIL_PROVIDER: "smtp", APNS_KEY_ID: "K123456789" })).toThrow(/APNS_TEAM_ID.*required with APNS_KEY_ID/);
  });

  it("refuses two slices reading one variable differently, and lets them share one schema", () => {
    const shared = positiveInt.default(1);
    const a = defineSlice({ name: "a", variables: { X: shared }, settings: (env) => env.X });
    const b = defineSlice({ name: "b", variables: { X: shared }, settings: (env) => env.X * 2 });
    expect(loadSlices({ X: "3" }, [a, b])).toEqual({ a: 3, b: 6 });
    const c = defineSlice({ name: "c", variables: { X: z.string() }, settings: (env) => env.X });
    expect(() => loadSlices({ X: "3" }, [a, c])).toThrow(/X is declared differently/);
  });

  it("requires a signing key in production and a usable one anywhere", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/JWT_SECRET: required in production/);
    expect(() => loadConfig({ JWT_SECRET: "short" })).toThrow(/at least 32 characters/);
  });

  it("refuses a placeholder signing key in production, and only there", () => {
    for (const placeholder of ["replace-with-a-secret-of-at-least-32-chars", "quikchat-development-secret-change-me", "CHANGEME-0123456789abcdef0123456789abcdef", "put-your-secret-here-0123456789abcdef"]) {
      expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: placeholder })).toThrow(/JWT_SECRET: a placeholder from an example is refused in production/);
      expect(loadConfig({ JWT_SECRET: placeholder }).auth.jwtSecret).toBe(placeholder);
    }
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "kq3Vd8n2XwLr5tYb9Zc1Fg7Hj4Mp6Qs0UaEiOoRu" }).auth.acceptHs256).toBe(true);
  });

  it("checks variables that only make sense together", () => {
    expect(() => loadConfig({ PRESENCE_GATEWAY_STALE_MS: "5000" })).toThrow(/PRESENCE_GATEWAY_STALE_MS: must exceed/);
    expect(() => loadConfig({ TYPING_COALESCE_MS: "5000" })).toThrow(/TYPING_COALESCE_MS: must be below/);
    expect(loadConfig({ TYPING_TIMEOUT_MS: "8000", TYPING_COALESCE_MS: "3000" }).typing).toMatchObject({ timeoutMs: 8000, coalesceMs: 3000 });
  });

  it("takes a reconnect grace of zero (none) but not a negative one", () => {
    expect(loadConfig({}).presence.reconnectGraceMs).toBe(10_000);
    expect(loadConfig({ PRESENCE_RECONNECT_GRACE_MS: "0" }).presence.reconnectGraceMs).toBe(0);
    expect(() => loadConfig({ PRESENCE_RECONNECT_GRACE_MS: "-1" })).toThrow(/PRESENCE_RECONNECT_GRACE_MS/);
  });

  it("treats empty strings as unset and returns a frozen object", () => {
    const config = loadConfig({ PORT: "", REDIS_URL: "" });
    expect(config.service.port).toBe(4000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });
});
