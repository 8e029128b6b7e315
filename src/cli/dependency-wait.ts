import type { CoreConfig } from "../platform/config/core-config.js";
import type { Dependency } from "../platform/dependencies.js";
import { withTimeout, type DependencyProbe } from "../platform/gateway/dependency-health.js";
import { sleep } from "../platform/sleep.js";
import { schemaRegistryProbe, SchemaRegistryClient } from "../infra/avro/schema-registry-client.js";
import { kafkaProbe } from "../infra/kafka/kafka-probe.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import type { Logger } from "../infra/log/logger.js";
import { pingMongoOnce } from "../infra/mongo/mongo-connection.js";
import { createMysqlPool, mysqlProbe } from "../infra/mysql/mysql-pool.js";
import { pingRedisOnce } from "../infra/redis/redis-connection.js";

/** Dependencies that did not answer in time, one line each: the variable to fix, the address tried, why. */
export class UnreachableDependencyError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.length === 1 ? lines[0] : `${lines.length} dependencies did not answer:\n${lines.map((line) => `  - ${line}`).join("\n")}`);
    this.name = "UnreachableDependencyError";
  }
}

/** Where a dependency is configured: its variable, what it is, and the address tried (credentials left out). */
interface DependencyAddress {
  readonly variable: string;
  readonly label: string;
  readonly address: string;
}

/** `scheme://host:port,…` of `url` without credentials, path or query: what a message may show. */
const hostsOf = (url: string): string => /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/?#]*)/i.exec(url)?.[1] ?? url;

/** Where `dependency` is configured in `config`. */
function dependencyAddress(config: CoreConfig, dependency: Dependency): DependencyAddress {
  switch (dependency) {
    case "kafka":
      return { variable: "KAFKA_BROKERS", label: "Kafka cluster", address: config.kafka.brokers.join(",") };
    case "schema_registry": {
      const url = new URL(config.registry.url);
      return { variable: "SCHEMA_REGISTRY_URL", label: "schema registry", address: `${url.protocol}//${url.host}${url.pathname}` };
    }
    case "redis":
      return { variable: "REDIS_URL", label: "Redis", address: hostsOf(config.redis.url) };
    case "mysql":
      return { variable: "DATABASE_URL", label: "MySQL database", address: hostsOf(config.mysql.url) };
    case "mongo":
      return { variable: config.mongo.variable, label: "MongoDB", address: hostsOf(config.mongo.url) };
    default: {
      const unknown: never = dependency;
      throw new Error(`unknown dependency ${String(unknown)}`);
    }
  }
}

/** A probe over short-lived, quiet connections of its own (no client logs a retry), closed by `close`. */
function oneShotProbe(config: CoreConfig, dependency: Dependency, logger: Logger): DependencyProbe & { close(): Promise<unknown> } {
  const nothing = () => Promise.resolve();
  switch (dependency) {
    case "kafka":
      return { ...kafkaProbe(createKafkajs(config.kafka, logger, { retries: 0, quiet: true })), close: nothing };
    case "schema_registry":
      return { ...schemaRegistryProbe(new SchemaRegistryClient(config.registry)), close: nothing };
    case "redis":
      return { name: "redis", check: (timeoutMs) => pingRedisOnce(config.redis.url, timeoutMs), close: nothing };
    case "mysql": {
      const pool = createMysqlPool(config.mysql.url, 1);
      return { ...mysqlProbe(pool), close: () => pool.end() };
    }
    case "mongo":
      return { name: "mongo", check: (timeoutMs) => pingMongoOnce(config.mongo.url, timeoutMs), close: nothing };
    default: {
      const unknown: never = dependency;
      throw new Error(`unknown dependency ${String(unknown)}`);
    }
  }
}

/**
 * What went wrong on the wire: the innermost cause (client libraries wrap `connect ECONNREFUSED`,
 * `EHOSTUNREACH` or `getaddrinfo ENOTFOUND` in errors of their own), its first line, without
 * credentials.
 */
function reasonOf(error: unknown): string {
  let current = error;
  for (;;) {
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    else if (current instanceof Error && current.cause instanceof Error) current = current.cause;
    else break;
  }
  const message = current instanceof Error ? current.message || current.name : String(current);
  // A URL in a message may carry credentials.
  return message.replace(/^Connection error: /, "").replace(/\/\/[^/@\s]*@/g, "//").split("\n")[0]!;
}

/** How long one attempt may take, and how long to wait between attempts. */
const ATTEMPT_MS = 3_000;
const RETRY_MS = 500;

/**
 * Waits until every dependency of `uses` answers, trying each again until
 * `config.service.dependencyWaitMs` has passed (so a dependency started at the same time, as
 * with docker compose, has time to come up), over connections of its own that it closes. Rejects
 * then with an {@link UnreachableDependencyError} naming, for each one still silent, the variable
 * to fix, the address tried and the last reason: the caller's only output, instead of each
 * client's retries and a stack trace. Never takes much longer than the wait.
 */
export async function waitForDependencies(config: CoreConfig, uses: readonly Dependency[], logger: Logger): Promise<void> {
  const deadline = Date.now() + config.service.dependencyWaitMs;
  const seconds = Math.round(config.service.dependencyWaitMs / 1000);
  const failures = await Promise.all(
    uses.map(async (dependency) => {
      const probe = oneShotProbe(config, dependency, logger);
      const where = dependencyAddress(config, dependency);
      try {
        for (let attempt = 1; ; attempt += 1) {
          const left = deadline - Date.now();
          try {
            const timeoutMs = Math.max(1, Math.min(ATTEMPT_MS, left));
            await withTimeout(probe.check(timeoutMs), timeoutMs, `no answer within ${timeoutMs} ms`);
            return undefined;
          } catch (error) {
            const reason = reasonOf(error);
            if (Date.now() + RETRY_MS >= deadline) return `${where.variable}: cannot use the ${where.label} at ${where.address} (${reason}; tried for ${seconds} s)`;
            if (attempt === 1) logger.info({ dependency, address: where.address, reason }, `waiting up to ${seconds} s for ${where.variable}`);
            await sleep(RETRY_MS);
          }
        }
      } finally {
        await probe.close().catch(() => undefined);
      }
    }),
  );
  const lines = failures.filter((line): line is string => line !== undefined);
  if (lines.length > 0) throw new UnreachableDependencyError(lines);
}
