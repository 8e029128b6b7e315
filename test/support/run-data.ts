import type { RowDataPacket } from "mysql2/promise";
import type { Config } from "../../src/contexts/index.js";
import { createKafkajs } from "../../src/infra/kafka/kafkajs-client.js";
import { createLogger } from "../../src/infra/log/logger.js";
import { createMysqlPool } from "../../src/infra/mysql/mysql-pool.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";

/**
 * Deletes what runs of the test suite, the benchmark or the chaos harness leave behind: the
 * topics, registry subjects (permanently: Apicurio keeps them in memory), MySQL tables (`_` read
 * as `.`) and Redis keys whose names `select` picks. `stem` is the first word every such name
 * starts with (`test`, `bench`, `chaos`): only tables and keys starting with it are looked at.
 * Returns a count of what went, for a progress line.
 */
export async function removeRunData(config: Config, stem: string, select: (name: string) => boolean): Promise<string> {
  const logger = createLogger({ level: "fatal", name: `${stem}-cleanup` });
  const admin = createKafkajs(config.kafka, logger).admin();
  await admin.connect();
  let topics: string[];
  try {
    topics = (await admin.listTopics()).filter(select);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 60_000 });
  } finally {
    await admin.disconnect();
  }
  const subjects = (await listSubjects(config.registry.url)).filter(select);
  for (const subject of subjects) {
    const path = `${config.registry.url}/subjects/${encodeURIComponent(subject)}`;
    await fetch(path, { method: "DELETE" });
    await fetch(`${path}?permanent=true`, { method: "DELETE" });
  }
  const pool = createMysqlPool(config.mysql.url, 1);
  let tables = 0;
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
      [`${stem}\\_%`],
    );
    for (const { name } of rows as { name: string }[]) {
      if (!select(name.replaceAll("_", "."))) continue;
      await pool.query(`DROP TABLE IF EXISTS \`${name}\``);
      tables += 1;
    }
  } finally {
    await pool.end();
  }
  const redis = createRedis(config.redis.url, logger, { name: `${stem}-cleanup` });
  let keys = 0;
  try {
    for await (const found of redis.scanStream({ match: `${stem}*`, count: 1_000 }) as AsyncIterable<string[]>) {
      const ours = found.filter(select);
      if (ours.length > 0) keys += await redis.unlink(...ours);
    }
  } finally {
    await redis.quit();
  }
  return `${topics.length} topics, ${subjects.length} subjects, ${tables} tables, ${keys} Redis keys`;
}

/**
 * Every subject in the registry. Apicurio's Confluent-compatible `/subjects` lists at most 1,000
 * (a shared development registry holds more), so with Apicurio its own API is paged through;
 * any other registry answers `/subjects` in full.
 */
async function listSubjects(url: string): Promise<string[]> {
  const apicurio = url.replace(/\/apis\/ccompat\/v\d+\/?$/, "/apis/registry/v3");
  if (apicurio !== url) {
    const all: string[] = [];
    for (let offset = 0; ; offset += 500) {
      const response = await fetch(`${apicurio}/search/artifacts?groupId=default&limit=500&offset=${offset}`).catch(() => undefined);
      if (!response?.ok) break;
      const page = (await response.json()) as { artifacts: { artifactId: string }[] };
      all.push(...page.artifacts.map((artifact) => artifact.artifactId));
      if (page.artifacts.length < 500) return all;
    }
  }
  return (await (await fetch(`${url}/subjects`)).json()) as string[];
}
