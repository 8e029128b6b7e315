import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ownedPid, stopProcess } from "./process-control.js";
import { tcpOpen, waitUntil } from "./readiness.js";
import { StackError } from "./stack-error.js";
import type { ComponentName, ComponentStatus, StackLog } from "./types.js";
import { sleep } from "../../platform/sleep.js";

/** What a server answered when probed: whether it is the expected kind, and its version if told. */
export type Answer = { readonly ok: false } | { readonly ok: true; readonly version?: string };

/** Where and how the stack runs one of its Java servers. */
export interface JavaServerOptions {
  readonly host: string;
  readonly port: number;
  /** The Maven version of the server's artifact. */
  readonly version: string;
  /** Holds the pid file and the log. */
  readonly dir: string;
  /** Where resolved classpaths and unpacked distributions are kept (shared by stacks). */
  readonly cacheDir: string;
  readonly javaHome?: string;
}

/** One server the stack can find, start and stop. */
export interface Component {
  readonly name: ComponentName;
  readonly host: string;
  readonly port: number;
  /** The version this stack would start. */
  readonly version?: string;
  /** Holds the pid file, the log and any config or data of the process this stack starts. */
  readonly dir: string;
  readonly logFile: string;
  /** A substring of the command line of the process this stack starts, to tell it from a recycled pid. */
  readonly marker: string;
  /** How the user points the project at another server instead, e.g. "set KAFKA_BROKERS to a broker". */
  readonly elsewhere: string;
  /** A label for messages, e.g. "Kafka 3.9.1". */
  readonly label: string;
  readonly startTimeoutMs: number;
  readonly stopGraceMs: number;
  /** Asks host:port whether it is this kind of server; never throws, never hangs. */
  answers(): Promise<Answer>;
  /** Fetches what is needed and spawns the server; resolves its pid without waiting for readiness. */
  launch(log: StackLog): Promise<number>;
  /** Runs once the server answers, whether started or reused (e.g. creating databases). */
  prepare?(): Promise<void>;
}

export const address = (c: { host: string; port: number }): string =>
  c.host.includes(":") ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;

/** Where the stack records the pid of the process it started for a component living in `dir`. */
export const pidFileIn = (dir: string): string => join(dir, "pid");

const pidFile = (c: Component): string => pidFileIn(c.dir);

/**
 * What the stack's Java servers share: where they live, and the system property that marks
 * their command line so that a recycled pid is never taken for theirs.
 */
export function javaServerBase(o: JavaServerOptions) {
  const pidFile = pidFileIn(o.dir);
  const marker = `-Dquikchat.stack.pidfile=${pidFile}`;
  return { host: o.host, port: o.port, version: o.version, dir: o.dir, pidFile, marker };
}

function status(c: Component, state: ComponentStatus["state"], extra: Partial<ComponentStatus>): ComponentStatus {
  const result: ComponentStatus = { name: c.name, address: address(c), state };
  if (c.version !== undefined) result.version = c.version;
  return Object.assign(result, extra);
}

/** How often, and how far apart, a port that accepts connections but gave a wrong answer is probed again. */
const PROBE_RETRIES = 5;
const PROBE_RETRY_MS = 1_000;

/** The one-line error for a port that answers but not as this kind of server. */
export function portTaken(port: number, elsewhere: string): StackError {
  return new StackError(`port ${port} is taken by another program; ${elsewhere} or free the port`);
}

/**
 * Makes `c` answer on its port: reuses a server that already answers correctly, waits for one
 * this stack started earlier that is still coming up, or launches a new one and waits for it.
 * Rejects with a one-line StackError when the port is held by something else, a prerequisite
 * is missing, or the server is not ready in time.
 */
export async function componentUp(c: Component, log: StackLog): Promise<ComponentStatus> {
  const t0 = Date.now();
  const elapsed = (): number => Date.now() - t0;
  let pid = await ownedPid(pidFile(c), c.marker);
  let first = await c.answers();
  // A busy server (a JVM under load) may miss one probe: a port that accepts connections is asked
  // again for a while before it counts as another program's.
  for (let retry = 0; !first.ok && pid === undefined && retry < PROBE_RETRIES && (await tcpOpen(c.host, c.port)); retry++) {
    await sleep(PROBE_RETRY_MS);
    first = await c.answers();
  }
  if (first.ok) {
    await c.prepare?.();
    const extra: Partial<ComponentStatus> = { ms: elapsed(), ...(first.version ? { version: first.version } : {}) };
    if (pid !== undefined) extra.pid = pid;
    else extra.detail = "not started by this stack";
    log(`${c.name}: reusing ${c.label} on ${address(c)}`);
    return status(c, "reused", extra);
  }
  let state: ComponentStatus["state"] = "reused";
  if (pid === undefined) {
    if (await tcpOpen(c.host, c.port)) throw portTaken(c.port, c.elsewhere);
    log(`${c.name}: starting ${c.label} on ${address(c)} (log: ${c.logFile})`);
    await mkdir(c.dir, { recursive: true });
    pid = await c.launch(log);
    state = "started";
  } else {
    log(`${c.name}: waiting for ${c.label} (pid ${pid}) started earlier on ${address(c)}`);
  }
  let version: string | undefined;
  await waitUntil(
    async () => {
      const answer = await c.answers();
      if (answer.ok) version = answer.version;
      return answer.ok;
    },
    { what: `${c.label} on ${address(c)}`, timeoutMs: c.startTimeoutMs, logFile: c.logFile, pid },
  );
  await c.prepare?.();
  log(`${c.name}: ready on ${address(c)} after ${(elapsed() / 1000).toFixed(1)} s`);
  return status(c, state, { pid, ms: elapsed(), ...(version ? { version } : {}) });
}

/** Stops `c` if this stack started it (SIGTERM, then SIGKILL after its grace period); leaves anything else alone. */
export async function componentDown(c: Component, log: StackLog): Promise<ComponentStatus> {
  const t0 = Date.now();
  const pid = await ownedPid(pidFile(c), c.marker);
  if (pid !== undefined) {
    log(`${c.name}: stopping ${c.label} (pid ${pid}) on ${address(c)}`);
    await stopProcess(pid, c.stopGraceMs);
    await rm(pidFile(c), { force: true });
    return status(c, "stopped", { pid, ms: Date.now() - t0 });
  }
  const answer = await c.answers();
  if (answer.ok) return status(c, "reused", { detail: "not started by this stack; left running", ms: Date.now() - t0 });
  return status(c, "down", { ms: Date.now() - t0 });
}

/**
 * Reports, without changing anything, `running` when this stack's process for `c` answers,
 * `starting` when it is alive but does not answer yet, `reused` when something else answers,
 * `down` when nothing does.
 */
export async function componentStatus(c: Component): Promise<ComponentStatus> {
  const t0 = Date.now();
  const [pid, answer] = await Promise.all([ownedPid(pidFile(c), c.marker), c.answers()]);
  const extra: Partial<ComponentStatus> = { ms: Date.now() - t0 };
  if (answer.ok && answer.version) extra.version = answer.version;
  if (pid !== undefined) extra.pid = pid;
  if (!answer.ok) {
    extra.detail = pid !== undefined ? `not answering yet; log: ${c.logFile}` : "not answering";
    return status(c, pid !== undefined ? "starting" : "down", extra);
  }
  extra.detail = pid !== undefined ? `started by this stack; data: ${c.dir}` : "not started by this stack";
  return status(c, pid !== undefined ? "running" : "reused", extra);
}
