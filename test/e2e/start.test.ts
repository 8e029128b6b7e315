import { afterAll, describe, expect, it } from "vitest";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { freePort, runCli, type ServiceProcess } from "../support/service-process.js";

describe("quikchat start", () => {
  let service: ServiceProcess | undefined;

  afterAll(() => {
    service?.child.kill("SIGKILL");
  });

  it("brings up the stack, bootstraps the contract, answers /health with every dependency healthy, and stops cleanly", async () => {
    const port = await freePort();
    service = runCli(["start"], { PORT: String(port), HOST: "127.0.0.1", KAFKA_TOPIC_PREFIX: uniquePrefix("start"), LOG_LEVEL: "info" });
    const running = service;

    const health = await eventually(
      async () => {
        if (running.child.exitCode !== null) throw new Error(`exited early:\n${running.output()}`);
        const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        const body = response?.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
        // Degraded (200) while a processor or projection is still starting or catching up.
        return body?.status === "healthy" ? body : undefined;
      },
      120_000,
      "GET /health 200 healthy",
    );
    expect(health).toMatchObject({
      status: "healthy",
      // MongoDB holds the calls' recordings, whatever HISTORY_STORE says.
      dependencies: { kafka: "healthy", schema_registry: "healthy", redis: "healthy", mysql: "healthy", mongo: "healthy" },
    });
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);

    running.child.kill("SIGTERM");
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('"msg":"stopped"');
  }, 150_000);

  it("refuses a bad configuration with one line per problem and no stack trace", async () => {
    const bad = runCli(["start"], { PORT: "seventy", REDIS_URL: "http://nope" });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/quikchat: invalid configuration:\n {2}- PORT: .*\n {2}- REDIS_URL: /);
    expect(bad.output()).not.toMatch(/\n\s+at /);
  });
});
