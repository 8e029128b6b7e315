import { createPool, type Pool } from "mysql2/promise";
import type { DependencyProbe } from "../../platform/gateway/dependency-health.js";

/** A MySQL/MariaDB connection pool from a `mysql://user:pass@host:port/db` URL. */
export function createMysqlPool(url: string, poolSize: number): Pool {
  return createPool({
    uri: url.replace(/^mariadb:/, "mysql:"),
    connectionLimit: poolSize,
    waitForConnections: true,
    connectTimeout: 5_000,
    enableKeepAlive: true,
    supportBigNumbers: true,
    dateStrings: false,
    // Statements are never prepared here (query, not execute); mysql2 allocates each connection's
    // statement cache at its full size up front: half a megabyte at the default 16,000.
    maxPreparedStatements: 16,
  });
}

/** The prefix of a deployment's tables and collections: its topic prefix, made safe as an identifier. */
export const tablePrefixOf = (topicPrefix: string): string => topicPrefix.replace(/[^A-Za-z0-9_]/g, "_");

export function mysqlProbe(pool: Pool): DependencyProbe {
  return {
    name: "mysql",
    async check() {
      await pool.query("SELECT 1");
    },
  };
}
