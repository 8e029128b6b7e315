/**
 * Each chaos run names its topics, subjects and tables `chaos.r<start seconds>.…` (tables with
 * `_` for `.`). A run deletes its own at the end when every fault was survived (a failed run
 * keeps them as evidence), and at its start those of runs that began over an hour ago.
 */
import type { RowDataPacket } from "mysql2/promise";
import { loadConfig } from "../../src/config/config.js";
import { createKafkajs } from "../../src/infra/kafka/kafkajs-client.js";
import { createLogger } from "../../src/infra/log/logger.js";
import { createMysqlPool } from "../../src/infra/mysql/mysql-pool.js";

export const chaosPrefix = (startSeconds: number) => `chaos.r${startSeconds}.`;

/** Names of chaos runs that started over an hour before `nowSeconds`. */
export const staleRun = (nowSeconds: number) => (name: string) => {
  const start = /^chaos\.r(\d+)\./.exec(name)?.[1];
  return start !== undefined && Number(start) < nowSeconds - 3_600;
};

/** Deletes the topics, registry subjects and MySQL tables whose names `select` picks. */
export async function deleteRunData(select: (name: string) => boolean): Promise<void> {
  const config = loadConfig(process.env);
  const admin = createKafkajs(config.kafka, createLogger({ level: "error", name: "chaos-cleanup" })).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter(select);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
  const registry = config.registry.url;
  const subjects = ((await (await fetch(`${registry}/subjects`)).json()) as string[]).filter(select);
  for (const subject of subjects) {
    const path = `${registry}/subjects/${encodeURIComponent(subject)}`;
    await fetch(path, { method: "DELETE" });
    await fetch(`${path}?permanent=true`, { method: "DELETE" });
  }
  const pool = createMysqlPool(config.mysql.url, 1);
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'chaos\\_r%'",
    );
    for (const { name } of rows as { name: string }[]) if (select(name.replaceAll("_", "."))) await pool.query(`DROP TABLE IF EXISTS \`${name}\``);
  } finally {
    await pool.end();
  }
}
