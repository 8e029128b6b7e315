import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../../src/platform/gateway/app.js";
import { SchemaRegistryClient, schemaRegistryProbe } from "../../../src/infra/avro/schema-registry-client.js";
import { kafkaProbe } from "../../../src/infra/kafka/kafka-probe.js";
import { createKafkajs } from "../../../src/infra/kafka/kafkajs-client.js";
import { createServiceMetrics } from "../../../src/infra/metrics/service-metrics.js";
import { createMongoClient, mongoProbe } from "../../../src/infra/mongo/mongo-connection.js";
import { createMysqlPool, mysqlProbe } from "../../../src/infra/mysql/mysql-pool.js";
import { createRedis, redisProbe } from "../../../src/infra/redis/redis-connection.js";
import { startKafka, type KafkaBroker } from "../../../src/infra/stack/kafka-broker.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const config = testConfig();
const logger = testLogger();

/** A broker of this test's own, so stopping it disturbs no other test. */
const brokerOptions = {
  host: "127.0.0.1",
  port: 29_092,
  controllerPort: 29_093,
  dataDir: join(config.stack.dir, uniquePrefix("health-kafka").replaceAll(".", "-")),
  cacheDir: join(config.stack.dir, "cache"),
  version: config.stack.kafkaVersion,
};

describe("health endpoints against real dependencies", () => {
  let broker: KafkaBroker;
  let app: FastifyInstance;
  const redis = createRedis(config.redis.url, logger, { name: "health-test", failFast: true });
  const pool = createMysqlPool(config.mysql.url, 1);
  const mongo = createMongoClient(config.mongo.url);

  beforeAll(async () => {
    broker = await startKafka(brokerOptions);
    app = await buildApp({
      logger,
      metrics: createServiceMetrics({ node: "health-test" }),
      version: "test",
      nodeId: "health-test",
      probeTimeoutMs: 3_000,
      probes: [
        kafkaProbe(createKafkajs({ brokers: [broker.address], clientId: "health-test" }, logger, { retries: 0, quiet: true })),
        schemaRegistryProbe(new SchemaRegistryClient(config.registry)),
        redisProbe(redis),
        mysqlProbe(pool),
        mongoProbe(mongo),
      ],
      stats: () => ({ websocket_connections: 3, online_users: 2 }),
      parts: () => ({ ...parts }),
    });
  });

  /** The state each part of the process reports; tests change it. */
  let parts: Record<string, "starting" | "catching_up" | "ready"> = { "processor:conversations": "ready", "projection:presence": "ready" };

  afterAll(async () => {
    await app.close();
    await broker.stop();
    await rm(brokerOptions.dataDir, { recursive: true, force: true });
    await Promise.all([redis.quit(), pool.end(), mongo.close()]);
  });

  it("/health reports every dependency with the documented shape", async () => {
    const response = await app.inject({ method: "GET", url: "/health" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: "healthy",
      version: "test",
      uptime: expect.any(Number),
      node: "health-test",
      dependencies: { kafka: "healthy", schema_registry: "healthy", redis: "healthy", mysql: "healthy", mongo: "healthy" },
      parts: { "processor:conversations": "ready", "projection:presence": "ready" },
      stats: { websocket_connections: 3, online_users: 2 },
    });
  });

  it("is not ready while a part is starting, and degraded (yet ready) while a projection catches up", async () => {
    try {
      parts = { "processor:conversations": "starting", "projection:presence": "ready" };
      let ready = await app.inject({ method: "GET", url: "/health/ready" });
      expect([ready.statusCode, ready.json()]).toMatchObject([503, { status: "not_ready", parts: { "processor:conversations": "starting" } }]);
      expect((await app.inject({ method: "GET", url: "/health" })).json()).toMatchObject({ status: "degraded" });

      parts = { "processor:conversations": "ready", "projection:presence": "catching_up" };
      ready = await app.inject({ method: "GET", url: "/health/ready" });
      expect(ready.statusCode).toBe(200);
      const health = await app.inject({ method: "GET", url: "/health" });
      expect([health.statusCode, health.json()]).toMatchObject([200, { status: "degraded", parts: { "projection:presence": "catching_up" } }]);
    } finally {
      parts = { "processor:conversations": "ready", "projection:presence": "ready" };
    }
  });

  it("/health/live answers while the process runs", async () => {
    const response = await app.inject({ method: "GET", url: "/health/live" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: "alive" });
  });

  it("/health/ready turns 503 with kafka unhealthy while the broker is down, and 200 once it is back", async () => {
    expect((await app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(200);

    await broker.stop();
    const down = await app.inject({ method: "GET", url: "/health/ready" });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({
      status: "not_ready",
      dependencies: { kafka: "unhealthy", schema_registry: "healthy", redis: "healthy", mysql: "healthy", mongo: "healthy" },
      parts: { "processor:conversations": "ready", "projection:presence": "ready" },
    });

    broker = await startKafka(brokerOptions);
    const up = await app.inject({ method: "GET", url: "/health/ready" });
    expect(up.statusCode).toBe(200);
    expect(up.json()).toMatchObject({ status: "ready", dependencies: { kafka: "healthy" } });
  }, 180_000);

  it("/metrics exposes the dependency gauges and process metrics", async () => {
    await app.inject({ method: "GET", url: "/health" });
    const response = await app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('quikchat_dependency_up{dependency="kafka",node="health-test"} 1');
    expect(response.body).toContain("process_resident_memory_bytes");
    expect(response.body).toContain("http_requests_total");
  });
});
