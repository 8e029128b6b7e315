import type { RowDataPacket } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { createKafkajs } from "../../../src/infra/kafka/kafkajs-client.js";
import { createMysqlPool, tablePrefixOf } from "../../../src/infra/mysql/mysql-pool.js";
import { runCli } from "../../support/service-process.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

/** `quikchat projections status` for the deployment of `prefix`: exit code and output. */
async function status(prefix: string) {
  const run = runCli(["projections", "status"], { KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: "info" });
  return { code: await run.exited, output: run.output() };
}

describe("quikchat projections status", () => {
  const config = testConfig();
  const pool = createMysqlPool(config.mysql.url, 1);

  afterAll(async () => {
    await pool.end();
  });

  /** What a deployment of `prefix` has: its topics, schema subjects and tables. */
  async function footprint(prefix: string) {
    const admin = createKafkajs(config.kafka, testLogger()).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    await admin.disconnect();
    const subjects = ((await (await fetch(`${config.registry.url}/subjects`)).json()) as string[]).filter((subject) => subject.startsWith(prefix));
    const [tables] = await pool.query<RowDataPacket[]>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?", [
      `${tablePrefixOf(prefix).replaceAll("_", "\\_")}%`,
    ]);
    return { topics, subjects, tables: tables.map((row) => String(row.name)) };
  }

  it("writes nothing where nothing exists yet, and says which topics are missing", async () => {
    const prefix = uniquePrefix("st-empty");
    const { code, output } = await status(prefix);
    expect(code).toBe(0);
    const lines = output.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^projection\s+topic\s+partition\s+checkpoint\s+high watermark\s+lag$/);
    expect(lines).toContain(`${prefix}quikapp.messages.events: no such topic (quikchat bootstrap, or start, creates it)`);
    expect(lines.filter((line) => line.startsWith("{"))).toEqual([]);
    expect(await footprint(prefix)).toEqual({ topics: [], subjects: [], tables: [] });
  });

  it("lists every partition of the topics that exist, still writing nothing", async () => {
    const prefix = uniquePrefix("st-boot");
    await bootstrapContract(testConfig({ KAFKA_TOPIC_PREFIX: prefix }), testLogger());
    const before = await footprint(prefix);
    const { code, output } = await status(prefix);
    expect(code).toBe(0);
    expect(output).not.toContain("no such topic");
    expect(output).toMatch(new RegExp(`^history\\s+${prefix.replaceAll(".", "\\.")}quikapp\\.messages\\.events\\s+5\\s+-\\s+0\\s+0$`, "m"));
    expect(await footprint(prefix)).toEqual(before);
    expect(before.tables).toEqual([]);

    const json = runCli(["projections", "status", "--json"], { KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: "warn" });
    expect(await json.exited).toBe(0);
    const rows = json.output().trim().split("\n").map((line) => JSON.parse(line) as { projection: string; partition: number; checkpoint: number | null; lag: number });
    expect(rows.filter((row) => row.projection === "history").map((row) => row.partition)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows.every((row) => row.checkpoint === null && row.lag === 0)).toBe(true);
  });
});
