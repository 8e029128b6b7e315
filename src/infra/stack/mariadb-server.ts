import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { pidFileIn, type Answer, type Component } from "./component.js";
import { spawnDetached } from "./process-control.js";
import { tcpExchange } from "./readiness.js";
import { runCommand } from "./run-command.js";
import { StackError } from "./stack-error.js";

export interface MariadbOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Created (if missing) once the server answers. */
  readonly databases: readonly string[];
  /** Holds the pid file and the log of a server this stack starts. */
  readonly dir: string;
}

const MARIADBD = "/usr/sbin/mariadbd";

/**
 * Reads the greeting a MySQL-protocol server sends on connect: a handshake v10 packet carries
 * the server version; an error packet (0xff, e.g. host not allowed) still proves it is one.
 */
export async function mysqlAnswers(host: string, port: number, timeoutMs = 2_000): Promise<Answer> {
  const packetComplete = (b: Buffer): boolean => b.length >= 4 && b.length >= 4 + b.readUIntLE(0, 3);
  const greeting = await tcpExchange(host, port, undefined, packetComplete, timeoutMs);
  if (greeting === undefined || greeting.length < 5) return { ok: false };
  if (greeting[4] === 0xff) return { ok: true };
  if (greeting[4] !== 10) return { ok: false };
  const end = greeting.indexOf(0, 5);
  const version = greeting.subarray(5, end < 0 ? undefined : end).toString("latin1");
  return { ok: true, version: version.replace(/^5\.5\.5-/, "") };
}

const quoteName = (name: string): string => `\`${name.replaceAll("`", "``")}\``;

async function createDatabases(o: MariadbOptions): Promise<void> {
  if (o.databases.length === 0) return;
  let connection;
  try {
    connection = await createConnection({ host: o.host, port: o.port, user: o.user, password: o.password, connectTimeout: 5_000 });
    for (const db of o.databases) await connection.query(`CREATE DATABASE IF NOT EXISTS ${quoteName(db)}`);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0] ?? "";
    throw new StackError(`cannot create databases on ${o.host}:${o.port} as ${o.user}: ${reason}; fix DATABASE_URL`, { cause: err });
  } finally {
    await connection?.end().catch(() => undefined);
  }
}

/** The Component for MariaDB: the machine's server when it runs, else the machine's mariadbd started on the requested port. */
export function mariadbComponent(o: MariadbOptions): Component {
  const logFile = join(o.dir, "mariadb.log");
  return {
    name: "mysql",
    host: o.host,
    port: o.port,
    dir: o.dir,
    logFile,
    marker: "mariadbd",
    elsewhere: "set DATABASE_URL to a MariaDB or MySQL server",
    label: "MariaDB",
    startTimeoutMs: 60_000,
    stopGraceMs: 30_000,
    answers: () => mysqlAnswers(o.host, o.port),
    prepare: () => createDatabases(o),
    async launch(): Promise<number> {
      if (!(await access(MARIADBD).then(() => true, () => false))) {
        throw new StackError("mariadbd not found: apt-get install mariadb-server, or set DATABASE_URL to a MariaDB or MySQL server");
      }
      // The socket directory lives on tmpfs and vanishes on reboot; the packaged service recreates it.
      await mkdir("/run/mysqld", { recursive: true }).catch(() => undefined);
      await runCommand("chown", ["mysql:mysql", "/run/mysqld"], { timeoutMs: 10_000 }).catch(() => undefined);
      return spawnDetached({
        command: MARIADBD,
        args: [`--port=${o.port}`, `--bind-address=${o.host}`],
        cwd: o.dir,
        logFile,
        pidFile: pidFileIn(o.dir),
      });
    },
  };
}
