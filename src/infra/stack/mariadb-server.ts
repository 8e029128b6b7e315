import { access, mkdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { address, pidFileIn, type Answer, type Component } from "./component.js";
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
/** MariaDB's port when the machine's configuration names none. */
const DEFAULT_PORT = 3306;

/**
 * The port the machine's configuration gives mariadbd (`mariadbd --print-defaults`, the last
 * `--port` wins as in the server). The stack starts the machine's mariadbd on that port only:
 * it runs on the machine's data directory, socket and pid file, which serve one server, so on
 * any other port (a mistyped DATABASE_URL) it would open them a second time.
 */
async function machineMariadbPort(): Promise<number> {
  const defaults = await runCommand(MARIADBD, ["--print-defaults"], { timeoutMs: 10_000 });
  const port = [...(defaults?.output ?? "").matchAll(/--port=(\d+)/g)].at(-1)?.[1];
  return port === undefined ? DEFAULT_PORT : Number(port);
}

/** The refusal to start mariadbd for `wanted`, unless it is the machine's own port (see {@link machineMariadbPort}). */
export function foreignPortRefusal(wanted: { host: string; port: number }, machinePort: number, machineRunning: boolean): StackError | undefined {
  if (wanted.port === machinePort) return undefined;
  const own = address({ host: wanted.host, port: machinePort });
  return new StackError(
    `DATABASE_URL: nothing answers on ${address(wanted)}; ` +
      (machineRunning ? `the machine's MariaDB runs on ${own}: fix the port` : `the machine's MariaDB is configured for ${own}: use that port`) +
      ` (the stack starts mariadbd on its own port only, since it shares the machine's data directory), or point DATABASE_URL at a running server`,
  );
}

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

/**
 * The Component for MariaDB: the machine's server when it runs, else the machine's mariadbd
 * started, on the machine's own port only (any other is refused with a one-line StackError).
 */
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
      const machinePort = await machineMariadbPort();
      const refusal = foreignPortRefusal(o, machinePort, o.port !== machinePort && (await mysqlAnswers(o.host, machinePort)).ok);
      if (refusal !== undefined) {
        // Nothing was written in the folder made for this server: leave no trace of it.
        await rmdir(o.dir).catch(() => undefined);
        throw refusal;
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
