import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../../src/platform/config/config.js";

describe("loadConfig", () => {
  it("points every dependency at the local stack when nothing is set", () => {
    const config = loadConfig({});
    expect(config.service.port).toBe(4000);
    expect(config.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(config.registry.url).toBe("http://127.0.0.1:8081/apis/ccompat/v7");
    expect(config.redis.url).toBe("redis://127.0.0.1:6379");
    expect(config.mysql.url).toBe("mysql://root@127.0.0.1:3306/quikchat_realtime");
    expect(config.mongo.url).toBe("mongodb://127.0.0.1:27017/quikchat");
    expect(config.history.store).toBe("mysql");
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
      TURN_SERVERS: "turn:turn.example.com:3478",
      TURN_SECRET: "turn-secret",
      STUN_SERVERS: "stun:a:19302,stun:b:19302",
      APNS_ENVIRONMENT: "production",
      EMAIL_PROVIDER: "sendgrid",
      SENDGRID_API_KEY: "key",
      EMAIL_FROM: "noreply@example.com",
      POOL_SIZE: "20",
    });
    expect(config.service.port).toBe(4100);
    expect(config.kafka.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect(config.mongo.url).toBe("mongodb://mongo:27017/quckchat");
    expect(config.webrtc).toMatchObject({ turnServers: ["turn:turn.example.com:3478"], turnTtlSeconds: 86_400 });
    expect(config.webrtc.stunServers).toHaveLength(2);
    expect(config.mysql.poolSize).toBe(20);
    expect(config.email.provider).toBe("sendgrid");
  });

  it("reports every problem at once", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "nope", KAFKA_BROKERS: "no-port", REDIS_URL: "http://x", HISTORY_STORE: "cassandra", POOL_SIZE: "-1" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((problem) => problem.split(":")[0]);
    expect(problems).toEqual(expect.arrayContaining(["PORT", "KAFKA_BROKERS", "REDIS_URL", "HISTORY_STORE", "POOL_SIZE"]));
    expect((error as ConfigError).message).toContain("invalid configuration");
  });

  it("requires a signing key in production and a usable one anywhere", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/JWT_SECRET: required in production/);
    expect(() => loadConfig({ JWT_SECRET: "short" })).toThrow(/at least 32 characters/);
  });

  it("checks variables that only make sense together", () => {
    expect(() => loadConfig({ EMAIL_PROVIDER: "smtp" })).toThrow(/SMTP_URL/);
    expect(() => loadConfig({ APNS_KEY_ID: "k" })).toThrow(/set all four or none/);
    expect(() => loadConfig({ PRESENCE_GATEWAY_STALE_MS: "5000" })).toThrow(/PRESENCE_GATEWAY_STALE_MS: must exceed/);
    expect(() => loadConfig({ TYPING_COALESCE_MS: "5000" })).toThrow(/TYPING_COALESCE_MS: must be below/);
    expect(loadConfig({ TYPING_TIMEOUT_MS: "8000", TYPING_COALESCE_MS: "3000" }).typing).toEqual({ timeoutMs: 8000, coalesceMs: 3000 });
  });

  it("treats empty strings as unset and returns a frozen object", () => {
    const config = loadConfig({ PORT: "", REDIS_URL: "" });
    expect(config.service.port).toBe(4000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });
});
