import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type Running } from "../../../src/cli/start.js";
import { freePort } from "../../support/service-process.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";
import { TEST_JWT_SECRET } from "../../support/tokens.js";

describe("a store the configuration does not use (MongoDB with HISTORY_STORE=mysql)", () => {
  let running: Running | undefined;
  let base = "";
  /** Stands where MONGO_URL points: counts whoever connects, answers nothing. */
  let trap: Server;
  let knocks = 0;

  beforeAll(async () => {
    trap = createServer((socket) => {
      knocks += 1;
      socket.destroy();
    });
    const mongoPort = await freePort();
    await new Promise<void>((resolve) => trap.listen(mongoPort, "127.0.0.1", resolve));
    const port = await freePort();
    const config = testConfig({
      KAFKA_TOPIC_PREFIX: uniquePrefix("unused-deps"),
      PORT: String(port),
      HOST: "127.0.0.1",
      QUIKCHAT_STACK: "off",
      JWT_SECRET: TEST_JWT_SECRET,
      HISTORY_STORE: "mysql",
      MONGO_URL: `mongodb://127.0.0.1:${mongoPort}/nowhere`,
    });
    running = await start(config, testLogger(), "all");
    base = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    await running?.shutdown("test over");
    trap.close();
  });

  it("does not decide readiness, is not reported, and is never connected to", async () => {
    const health = await fetch(`${base}/health`);
    const body = (await health.json()) as { status: string; dependencies: Record<string, string> };
    expect(health.status).toBe(200);
    expect(body.dependencies).toEqual({ kafka: "healthy", schema_registry: "healthy", redis: "healthy", mysql: "healthy" });
    await expect.poll(async () => (await fetch(`${base}/health/ready`)).status, { timeout: 60_000 }).toBe(200);
    expect(knocks).toBe(0);
  });
});
