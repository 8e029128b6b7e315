import type { RowDataPacket } from "mysql2/promise";
import { loadConfig } from "../../src/config/config.js";
import { createKafkajs } from "../../src/infra/kafka/kafkajs-client.js";
import { createLogger } from "../../src/infra/log/logger.js";
import { createMysqlPool } from "../../src/infra/mysql/mysql-pool.js";
import { stackUp } from "../../src/infra/stack/stack.js";
import { stackSpecFromConfig } from "../../src/cli/stack-spec.js";

/**
 * Brings up the local stack once per test run (reusing whatever already runs), so the
 * integration and end-to-end tests always talk to real servers. Left running afterwards:
 * the next run starts warm. Every topic a test creates is named `test.r<run start>.<label>.…`;
 * the teardown deletes this run's, and the setup those of runs that started over an hour ago
 * (interrupted before their teardown), so a long-lived development broker does not fill up
 * while concurrent runs keep their topics.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const config = loadConfig(process.env);
  const started = Math.floor(Date.now() / 1000);
  const run = `test.r${started}.`;
  process.env.QUIKCHAT_TEST_RUN = run;
  if (config.stack.mode === "auto") {
    const components = await stackUp(stackSpecFromConfig(config), (line) => console.log(`[stack] ${line}`));
    console.log(
      `[stack] ready in ${Date.now() - started * 1000} ms: ${components.map((c) => `${c.name} ${c.state}`).join(", ")}`,
    );
  }
  const stale = (name: string) => {
    if (!name.startsWith("test.")) return false;
    const runStart = /^test\.r(\d+)\./.exec(name)?.[1];
    return runStart === undefined || Number(runStart) < started - 3_600;
  };
  await deleteTopics(config.kafka, stale);
  await deleteSubjects(config.registry.url, stale);
  await dropTables(config.mysql.url, (table) => stale(table.replaceAll("_", ".")));
  const ours = (name: string) => name.startsWith(run);
  return async () => {
    await deleteTopics(config.kafka, ours);
    await deleteSubjects(config.registry.url, ours);
    await dropTables(config.mysql.url, (table) => ours(table.replaceAll("_", ".")));
  };
}

/** Drops test tables (named after their test's prefix, with `_` for `.`). */
async function dropTables(url: string, select: (table: string) => boolean): Promise<void> {
  const pool = createMysqlPool(url, 1);
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'test\\_%'",
    );
    for (const { name } of rows as { name: string }[]) if (select(name)) await pool.query(`DROP TABLE IF EXISTS \`${name}\``);
  } finally {
    await pool.end();
  }
}

/**
 * Deletes test subjects from the registry (permanently: Apicurio keeps them in memory).
 * The subject listing is capped (1,000 in Apicurio), so it lists again until none is left.
 */
async function deleteSubjects(registryUrl: string, select: (subject: string) => boolean): Promise<void> {
  for (let round = 0; round < 20; round += 1) {
    const subjects = ((await (await fetch(`${registryUrl}/subjects`)).json()) as string[]).filter(select);
    if (subjects.length === 0) return;
    for (const subject of subjects) {
      const path = `${registryUrl}/subjects/${encodeURIComponent(subject)}`;
      await fetch(path, { method: "DELETE" });
      await fetch(`${path}?permanent=true`, { method: "DELETE" });
    }
  }
}

async function deleteTopics(settings: { brokers: readonly string[]; clientId: string }, select: (name: string) => boolean): Promise<void> {
  const admin = createKafkajs(settings, createLogger({ level: "error", name: "test-teardown" })).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter(select);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}
