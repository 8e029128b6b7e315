import { randomBytes } from "node:crypto";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { projectRoot } from "../../platform/config/project.js";
import { pidFileIn, type Answer, type Component } from "./component.js";
import { spawnDetached } from "./process-control.js";
import { udpExchange } from "./readiness.js";
import { runCommand } from "./run-command.js";
import { StackError } from "./stack-error.js";
import { bindingAnswer, bindingRequest } from "./stun-wire.js";
import type { CoturnSpec, StackLog } from "./types.js";

export interface CoturnOptions extends CoturnSpec {
  /** Holds the pid files, the log, the static-auth-secret and coturn's own database. */
  readonly dir: string;
}

/**
 * Where the local stack runs coturn for calls when no TURN server is configured: its own port,
 * not 3478, where the machine's coturn (enabled by Debian's package) would listen, and a small
 * relay range.
 */
export const LOCAL_COTURN: CoturnSpec = Object.freeze({ host: "127.0.0.1", port: 3480, minPort: 49160, maxPort: 49200 });

/** The realm of the stack's coturn (and of docker-compose.yml's). */
export const COTURN_REALM = "quikchat";

const TURNSERVER = "/usr/bin/turnserver";
const INSTALL_SCRIPT = "scripts/install-coturn.sh";

/** The folder of the coturn a stack living in `stackDir` runs on `port`. */
export const coturnDir = (stackDir: string, port: number): string => join(stackDir, `coturn-${port}`);

const secretFileIn = (dir: string): string => join(dir, "static-auth-secret");

/** coturn's command line: in the foreground, loopback only, REST-API credentials (`use-auth-secret`), no TLS, no CLI. */
export function turnserverArgs(o: CoturnOptions, secret: string): string[] {
  return [
    // No configuration file: /etc/turnserver.conf belongs to the machine's coturn.
    "-n",
    `--listening-ip=${o.host}`,
    `--relay-ip=${o.host}`,
    `--listening-port=${o.port}`,
    `--min-port=${o.minPort}`,
    `--max-port=${o.maxPort}`,
    "--use-auth-secret",
    `--static-auth-secret=${secret}`,
    `--realm=${COTURN_REALM}`,
    "--no-tls",
    "--no-dtls",
    "--no-cli",
    // For development and tests only: both peers of a test call live on this machine.
    "--allow-loopback-peers",
    "--no-multicast-peers",
    "--fingerprint",
    "--log-file=stdout",
    "--simple-log",
    // Its own pid file and database, never the machine's coturn's (/var/run, /var/lib/turn).
    `--pidfile=${join(o.dir, "turnserver.pid")}`,
    `--userdb=${join(o.dir, "turndb")}`,
  ];
}

/** Asks host:port for a STUN Binding over UDP; a coturn answers with its version (SOFTWARE). */
export async function stunAnswers(host: string, port: number, timeoutMs = 2_000): Promise<Answer> {
  const transactionId = randomBytes(12);
  const reply = await udpExchange(host, port, bindingRequest(transactionId), (message) => bindingAnswer(message, transactionId).ok, timeoutMs);
  return reply === undefined ? { ok: false } : bindingAnswer(reply, transactionId);
}

/** The secret kept in `dir`, generated the first time. */
async function keptSecret(dir: string): Promise<string> {
  const file = secretFileIn(dir);
  const kept = (await readFile(file, "utf8").catch(() => undefined))?.trim();
  if (kept) return kept;
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/**
 * The static-auth-secret of the coturn the local stack in `stackDir` runs on `port`. Rejects
 * with a one-line StackError when that stack never started one.
 */
export async function coturnSecret(stackDir: string, port: number): Promise<string> {
  const file = secretFileIn(coturnDir(stackDir, port));
  const secret = (await readFile(file, "utf8").catch(() => undefined))?.trim();
  if (!secret) {
    throw new StackError(`no TURN secret in ${file}: the local stack has not started coturn; run quikchat stack up, or set TURN_SERVERS and TURN_SECRET`);
  }
  return secret;
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** Installs Debian's coturn with the project's script when `turnserver` is missing; a one-line StackError if that fails. */
async function ensureTurnserver(log: StackLog): Promise<void> {
  if (await exists(TURNSERVER)) return;
  const script = join(projectRoot(), INSTALL_SCRIPT);
  log(`coturn: ${TURNSERVER} is missing: installing Debian's coturn (${script})`);
  const run = await runCommand("bash", [script], { timeoutMs: 600_000 });
  if (run?.code !== 0 || !(await exists(TURNSERVER))) {
    const tail = (run?.output ?? "").trim().split("\n").slice(-3).join(" | ");
    throw new StackError(
      `installing coturn failed (${script} exited ${run?.code ?? "killed"}: ${tail}); install Debian's coturn, or set TURN_SERVERS and TURN_SECRET to a TURN server`,
    );
  }
  log(`coturn: installed ${TURNSERVER}`);
}

/**
 * The Component for coturn, the TURN (and STUN) server of calls: Debian's `turnserver` in the
 * foreground with a static-auth-secret generated once and kept in its folder, installed first
 * when the machine lacks it. Ready once it answers a STUN Binding over UDP.
 */
export function coturnComponent(o: CoturnOptions): Component {
  const logFile = join(o.dir, "coturn.log");
  return {
    name: "coturn",
    host: o.host,
    port: o.port,
    dir: o.dir,
    logFile,
    marker: `--pidfile=${join(o.dir, "turnserver.pid")}`,
    elsewhere: "set TURN_SERVERS and TURN_SECRET to a TURN server",
    label: "coturn",
    startTimeoutMs: 15_000,
    stopGraceMs: 5_000,
    answers: () => stunAnswers(o.host, o.port),
    async launch(log: StackLog): Promise<number> {
      await ensureTurnserver(log);
      return spawnDetached({ command: TURNSERVER, args: turnserverArgs(o, await keptSecret(o.dir)), cwd: o.dir, logFile, pidFile: pidFileIn(o.dir) });
    },
  };
}
