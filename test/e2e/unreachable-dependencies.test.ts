import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/contexts/index.js";
import { freePort, runCli } from "../support/service-process.js";
import { uniquePrefix } from "../support/test-config.js";

/** Runs `quikchat start` with `env` until it exits: its exit code, output, last line and duration. */
async function start(env: Record<string, string>) {
  const started = Date.now();
  const run = runCli(["start"], { KAFKA_TOPIC_PREFIX: uniquePrefix("unreachable"), DEPENDENCY_WAIT_MS: "5000", ...env });
  const code = await run.exited;
  const output = run.output();
  return { code, output, last: output.trimEnd().split("\n").at(-1), seconds: (Date.now() - started) / 1000 };
}

/** What a user would call noise: a stack trace, or a client's own warnings and errors (pino levels ≥ 40). */
function noise(output: string): string[] {
  return output.split("\n").filter((line) => /^\s+at /.test(line) || /"level":(4|5|6)\d/.test(line) || /KafkaJS|MaxRetriesPerRequest/.test(line));
}

const mariadbds = () => {
  try {
    return execFileSync("pgrep", ["-c", "-x", "mariadbd"], { encoding: "utf8" }).trim();
  } catch {
    return "0";
  }
};

describe("quikchat start with an address nothing answers on", () => {
  const off = { QUIKCHAT_STACK: "off" };

  it.concurrent("ends with one line naming KAFKA_BROKERS and the address tried", async () => {
    const port = await freePort();
    const result = await start({ ...off, KAFKA_BROKERS: `127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.last).toBe(`quikchat: KAFKA_BROKERS: cannot use the Kafka cluster at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}; tried for 5 s)`);
    expect(noise(result.output)).toEqual([]);
  });

  it.concurrent("ends with one line naming REDIS_URL, without its password", async () => {
    const port = await freePort();
    const result = await start({ ...off, REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.last).toBe(`quikchat: REDIS_URL: cannot use the Redis at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}; tried for 5 s)`);
    expect(result.output).not.toContain("hunter2");
    expect(noise(result.output)).toEqual([]);
  });

  it.concurrent("ends with one line naming DATABASE_URL, without its password", async () => {
    const port = await freePort();
    const result = await start({ ...off, DATABASE_URL: `mysql://root:hunter2@127.0.0.1:${port}/quikchat_realtime` });
    expect(result.code).toBe(1);
    expect(result.last).toBe(`quikchat: DATABASE_URL: cannot use the MySQL database at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}; tried for 5 s)`);
    expect(result.output).not.toContain("hunter2");
    expect(noise(result.output)).toEqual([]);
  });

  it.concurrent("ends with one line naming SCHEMA_REGISTRY_URL", async () => {
    const port = await freePort();
    const result = await start({ ...off, SCHEMA_REGISTRY_URL: `http://127.0.0.1:${port}/apis/ccompat/v7` });
    expect(result.code).toBe(1);
    expect(result.last).toBe(
      `quikchat: SCHEMA_REGISTRY_URL: cannot use the schema registry at http://127.0.0.1:${port}/apis/ccompat/v7 (connect ECONNREFUSED 127.0.0.1:${port}; tried for 5 s)`,
    );
    expect(noise(result.output)).toEqual([]);
  });

  it.concurrent("names the MongoDB variable that was set, when the history is kept there", async () => {
    const port = await freePort();
    const result = await start({ ...off, HISTORY_STORE: "mongo", MONGODB_URL: `mongodb://127.0.0.1:${port}/quikchat` });
    expect(result.code).toBe(1);
    expect(result.last).toMatch(new RegExp(`^quikchat: MONGODB_URL: cannot use the MongoDB at 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*; tried for 5 s\\)$`));
    expect(noise(result.output)).toEqual([]);
  });

  it("gives up within 20 s with the default wait", async () => {
    const port = await freePort();
    const result = await start({ ...off, REDIS_URL: `redis://127.0.0.1:${port}`, DEPENDENCY_WAIT_MS: "" });
    expect(result.code).toBe(1);
    expect(result.last).toMatch(/^quikchat: REDIS_URL: .*tried for 10 s\)$/);
    expect(result.seconds).toBeLessThan(20);
  }, 30_000);
});

describe("quikchat start with the local stack and a mistyped local port", () => {
  const stackDir = loadConfig(process.env).stack.dir;

  it("says where the local Kafka runs instead of naming its controller port, and starts no second broker", async () => {
    const port = await freePort();
    const result = await start({ KAFKA_BROKERS: `127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.last).toMatch(
      new RegExp(`^quikchat: KAFKA_BROKERS: no broker answers on 127\\.0\\.0\\.1:${port}; the local Kafka runs on 127\\.0\\.0\\.1:\\d+: set KAFKA_BROKERS=127\\.0\\.0\\.1:\\d+ `),
    );
    expect(noise(result.output)).toEqual([]);
    expect(existsSync(join(stackDir, `kafka-${port}`))).toBe(false);
  });

  it("never starts the machine's MariaDB on another port", async () => {
    const before = mariadbds();
    const port = await freePort();
    const result = await start({ DATABASE_URL: `mysql://root@127.0.0.1:${port}/quikchat_realtime` });
    expect(result.code).toBe(1);
    expect(result.last).toMatch(new RegExp(`^quikchat: DATABASE_URL: nothing answers on 127\\.0\\.0\\.1:${port}; the machine's MariaDB runs on 127\\.0\\.0\\.1:\\d+: fix the port`));
    expect(mariadbds()).toBe(before);
    expect(existsSync(join(stackDir, `mysql-${port}`))).toBe(false);
  });
});
