/**
 * The service's roles as separate processes (`quikchat start --role <role>`, from source, as
 * test/support/service-process.ts runs them), each in a fixed slot: a slot keeps its port and
 * NODE_NAME across restarts, so a restarted gateway is found again by the clients of the one
 * that was killed. A role that exits without being told to is restarted with a backoff, as a
 * supervisor (systemd, Kubernetes) would do, and the exit is recorded for the report.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { freePort, runCli, type ServiceProcess } from "../../test/support/service-process.js";
import { sleep } from "../../src/platform/sleep.js";

export type RoleName = "gateway" | "processor" | "projector";

/** An exit nobody asked for: the role stopped by itself (and was restarted). */
export interface UnexpectedExit {
  readonly slot: string;
  readonly at: number;
  readonly exit: number | string;
  /**
   * `crash`: the process died of an uncaught error after it had started serving; `deliberate`:
   * it logged a fatal line and shut down (a processor fenced or broken exits so that its
   * supervisor restarts it); `startup`: it failed before serving (a dependency still down).
   */
  readonly kind: "crash" | "deliberate" | "startup";
  /** The error it died of and where, from its last output. */
  readonly reason: string;
  readonly logFile: string;
}

/** How a role process ended, read from its output. */
export function classify(output: string): { kind: UnexpectedExit["kind"]; reason: string } {
  const lines = output.split("\n");
  const logged = (level: number) => {
    const line = lines.findLast((candidate) => candidate.startsWith(`{"level":${level},`));
    if (line === undefined) return undefined;
    const { msg, err } = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    return `${msg ?? ""}${err?.message === undefined ? "" : `: ${err.message}`}`;
  };
  // pino's fatal line: the process chose to stop.
  const fatal = logged(60);
  if (fatal !== undefined) return { kind: "deliberate", reason: fatal };
  // Otherwise the last uncaught error Node printed, with its first frame.
  const tail = lines.slice(-60);
  const errorAt = tail.findIndex((line) => /^\w*(Error|Exception)\b[^{]*:/.test(line));
  const frame = tail.slice(errorAt + 1).find((line) => line.trim().startsWith("at "));
  const reason = errorAt >= 0 ? `${tail[errorAt]}${frame === undefined ? "" : ` (${frame.trim()})`}` : (logged(50) ?? tail.filter(Boolean).at(-1) ?? "no output");
  return { kind: output.includes('"msg":"roles started"') ? "crash" : "startup", reason };
}

export class RoleSlot {
  process: ServiceProcess | undefined;
  logFile = "";
  /** Set while the harness itself stops the process (kill -9, shutdown): its exit is expected. */
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    readonly name: string,
    readonly role: RoleName,
    readonly port: number,
    readonly nodeName: string,
    private readonly owner: SupervisedRoles,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Spawns the role; the supervisor restarts it if it exits on its own. Nothing once the roles are closing. */
  start(): void {
    // A step still under way when the run ends (signal, quick run out of time) must not bring a role back.
    if (this.owner.closing) return;
    this.stopping = false;
    const started = this.owner.spawn(this);
    this.process = started.process;
    this.logFile = started.logFile;
    const proc = started.process;
    void proc.exited.then((exit) => {
      if (this.stopping || this.process !== proc || this.owner.closing) return;
      const { kind, reason } = classify(proc.output());
      this.owner.exits.push({ slot: this.name, at: Date.now(), exit, kind, reason, logFile: this.logFile });
      this.owner.note(`${this.name} exited by itself (${exit}, ${kind}: ${reason}); the supervisor restarts it`);
      this.failures += 1;
      const backoff = Math.min(10_000, 1_000 * 2 ** Math.min(this.failures - 1, 4));
      this.restartTimer = setTimeout(() => this.start(), backoff);
    });
  }

  /** Resolves once `/health/ready` answers 200; rejects after `timeoutMs`. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.running) {
        const response = await fetch(`${this.base}/health/ready`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
        if (response?.status === 200) {
          this.failures = 0;
          return;
        }
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms (log: ${this.logFile})`);
  }

  /** kill -9: no shutdown hook runs, nothing is flushed or committed. Resolves with the exit (waited for 10 s at most). */
  async kill(): Promise<number | string> {
    clearTimeout(this.restartTimer);
    const proc = this.process;
    if (proc === undefined || !this.running) return "not running";
    this.stopping = true;
    proc.child.kill("SIGKILL");
    // A process stuck in the kernel (uninterruptible I/O) exits only when that returns.
    return Promise.race([proc.exited, sleep(10_000).then(() => "no exit within 10 s of SIGKILL")]);
  }

  /** SIGKILL without waiting, for process exit. */
  killNow(): void {
    clearTimeout(this.restartTimer);
    this.stopping = true;
    if (this.running) this.process?.child.kill("SIGKILL");
  }
}

/** Role processes sharing one environment (topic prefix, JWT secret), their logs in `logDir`. */
export class SupervisedRoles {
  readonly slots: RoleSlot[] = [];
  readonly exits: UnexpectedExit[] = [];
  closing = false;
  private readonly streams: WriteStream[] = [];
  private spawned = 0;

  constructor(
    private readonly env: Record<string, string>,
    readonly logDir: string,
    readonly note: (line: string) => void,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** A slot with a port of its own, kept across restarts. */
  async slot(name: string, role: RoleName, nodeName: string): Promise<RoleSlot> {
    const slot = new RoleSlot(name, role, await freePort(), nodeName, this);
    this.slots.push(slot);
    return slot;
  }

  spawn(slot: RoleSlot): { process: ServiceProcess; logFile: string } {
    const process = runCli(["start", "--role", slot.role], { ...this.env, PORT: String(slot.port), HOST: "127.0.0.1", NODE_NAME: slot.nodeName });
    const logFile = join(this.logDir, `${String(this.spawned++).padStart(2, "0")}-${slot.name}.log`);
    const stream = createWriteStream(logFile);
    this.streams.push(stream);
    process.child.stdout?.on("data", (chunk: Buffer) => stream.write(chunk));
    process.child.stderr?.on("data", (chunk: Buffer) => stream.write(chunk));
    // "close", not "exit": output may still be in the pipes when the process has exited.
    process.child.once("close", () => stream.end());
    return { process, logFile };
  }

  /** SIGKILLs every role process and waits (bounded) for them to exit. */
  async stopAll(): Promise<void> {
    this.closing = true;
    const running = this.slots.filter((slot) => slot.running);
    for (const slot of this.slots) slot.killNow();
    await Promise.race([Promise.all(running.map((slot) => slot.process!.exited)), sleep(10_000)]);
    const closed = (stream: WriteStream) => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once("close", () => resolve())));
    await Promise.race([Promise.all(this.streams.map(closed)), sleep(2_000)]);
  }

  /** Synchronous last resort for `process.on("exit")`. */
  killAllNow(): void {
    this.closing = true;
    for (const slot of this.slots) slot.killNow();
  }
}
