import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, runCli, type ServiceProcess } from "./service-process.js";
import { sleep } from "../../src/platform/sleep.js";
import { TEST_JWT_SECRET } from "./tokens.js";

export type RoleName = "gateway" | "processor" | "projector" | "notifier";

/** One `quikchat start --role <role>` process, its port and where its output is kept. */
export interface RoleProcess extends ServiceProcess {
  readonly role: RoleName;
  readonly nodeName: string;
  readonly port: number;
  readonly base: string;
  /** The file every line the process writes is copied to (kept after the test, for evidence). */
  readonly logFile: string;
}

/**
 * The environment of a cluster under topic prefix `prefix` whose gateways tell a dead peer
 * quickly (they beat and sweep every `beatMs`; one silent for `staleMs` is dead), with the test
 * JWT secret and per-user rate limits out of the way of a test's bursts of joins and requests.
 */
export function fastPresenceEnv(prefix: string, { staleMs, beatMs }: { readonly staleMs: number; readonly beatMs: number }): Record<string, string> {
  return {
    KAFKA_TOPIC_PREFIX: prefix,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "warn",
    PRESENCE_GATEWAY_HEARTBEAT_MS: String(beatMs),
    PRESENCE_SWEEP_INTERVAL_MS: String(beatMs),
    PRESENCE_GATEWAY_STALE_MS: String(staleMs),
    PRESENCE_DIFF_INTERVAL_MS: "100",
    RATE_LIMIT_JOINS_PER_MIN: "100000",
    RATE_LIMIT_EVENTS_PER_MIN: "100000",
    RATE_LIMIT_TOTAL_PER_MIN: "100000",
  };
}

/**
 * Roles of one service as separate processes sharing a topic prefix and a JWT secret, as an
 * operator would run them: started, killed with SIGKILL and restarted independently.
 */
export class RoleCluster {
  readonly processes: RoleProcess[] = [];
  readonly logDir: string;
  private readonly streams: WriteStream[] = [];

  constructor(private readonly env: Record<string, string>) {
    this.logDir = join(tmpdir(), `quikchat-roles-${(env.KAFKA_TOPIC_PREFIX ?? "adhoc").replace(/[^\w.-]/g, "_")}`);
    mkdirSync(this.logDir, { recursive: true });
  }

  /** Starts a role (a restarted processor reuses its predecessor's NODE_NAME to fence it at once). */
  async start(role: RoleName, nodeName: string, extraEnv: Record<string, string> = {}): Promise<RoleProcess> {
    const port = await freePort();
    const service = runCli(["start", "--role", role], { ...this.env, ...extraEnv, PORT: String(port), HOST: "127.0.0.1", NODE_NAME: nodeName });
    const logFile = join(this.logDir, `${String(this.processes.length).padStart(2, "0")}-${role}-${nodeName}.log`);
    const stream = createWriteStream(logFile);
    this.streams.push(stream);
    service.child.stdout?.on("data", (chunk: Buffer) => stream.write(chunk));
    service.child.stderr?.on("data", (chunk: Buffer) => stream.write(chunk));
    const started: RoleProcess = { ...service, role, nodeName, port, base: `http://127.0.0.1:${port}`, logFile };
    this.processes.push(started);
    return started;
  }

  /** Waits until the process answers 200 on /health/ready; fails at once if it exits. */
  async ready(proc: RoleProcess, timeoutMs = 120_000): Promise<RoleProcess> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${proc.role} ${proc.nodeName} exited early (see ${proc.logFile}):\n${proc.output().slice(-4_000)}`);
      }
      const response = await fetch(`${proc.base}/health/ready`).catch(() => undefined);
      if (response?.status === 200) return proc;
      await sleep(100);
    }
    throw new Error(`${proc.role} ${proc.nodeName} not ready within ${timeoutMs} ms (see ${proc.logFile})`);
  }

  /** kill -9: no shutdown hook runs, nothing is flushed or committed. */
  async kill(proc: RoleProcess): Promise<number | string> {
    proc.child.kill("SIGKILL");
    return proc.exited;
  }

  /** SIGKILLs every process still running and waits for each to exit (bounded). */
  async stopAll(): Promise<void> {
    const running = this.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of running) p.child.kill("SIGKILL");
    await Promise.race([Promise.all(running.map((p) => p.exited)), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    await Promise.all(this.streams.map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
  }
}
