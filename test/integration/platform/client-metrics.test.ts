import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type Running } from "../../../src/cli/start.js";
import { freePort } from "../../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "../../support/tokens.js";

/** The value of the sample of `/metrics` text named `name` with these labels (among others, in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}{`) && Object.entries(labels).every(([label, value]) => candidate.includes(`${label}="${value}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("the Redis and Kafka client metrics of a started service", () => {
  const prefix = uniquePrefix("cmetrics");
  const escaped = prefix.replaceAll(".", "\\.");
  let running: Running | undefined;
  let base = "";

  beforeAll(async () => {
    const port = await freePort();
    const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, PORT: String(port), HOST: "127.0.0.1", QUIKCHAT_STACK: "off", JWT_SECRET: TEST_JWT_SECRET });
    running = await start(config, testLogger(), "all");
    base = `http://127.0.0.1:${port}`;
    await eventually(async () => ((await fetch(`${base}/health/ready`)).status === 200 ? true : undefined), 60_000, "the service to be ready");
  }, 120_000);

  afterAll(async () => {
    await running?.shutdown("test over");
  });

  it("counts and times every Redis command, times produces and transactions, and shows each consumer's lag on /metrics", async () => {
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${await tokenFor("alice")}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", title: "metrics", members: ["bob"] }),
    });
    expect(created.status).toBe(201);

    // librdkafka reports a consumer's lag with its statistics, every 10 s.
    const text = await eventually(
      async () => {
        const body = await (await fetch(`${base}/metrics`)).text();
        return /^kafka_consumer_lag\{[^}]*client="projection:membership"/m.test(body) && /^kafka_consumer_lag\{[^}]*client="processor:conversations"/m.test(body) ? body : undefined;
      },
      40_000,
      "the consumers' lag on /metrics",
    );
    // A gateway's REST call reads membership and publishes; the processor publishes the reply; health pings.
    expect(sample(text, "redis_commands_total", { command: "publish" })).toBeGreaterThan(0);
    expect(sample(text, "redis_commands_total", { command: "ping" })).toBeGreaterThan(0);
    expect(sample(text, "redis_latency_seconds_count", { operation: "publish" })).toBeGreaterThan(0);
    expect(sample(text, "redis_latency_seconds_bucket", { operation: "ping", le: "+Inf" })).toBeGreaterThan(0);
    expect(sample(text, "kafka_produce_latency_seconds_count", { client: "gateway" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "kafka_produce_latency_seconds_count", { client: "processor:conversations" })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(new RegExp(`^kafka_consumer_lag\\{client="processor:conversations",topic="${escaped}quikapp\\.conversations\\.commands",partition="\\d+"[^}]*\\} 0$`, "m"));
    // Bounded labels: command names, never keys or ids.
    const commands = new Set([...text.matchAll(/^redis_commands_total\{command="([^"]+)"/gm)].map((match) => match[1]));
    for (const command of commands) expect(command).toMatch(/^[a-z]+$/);
  });
});
