/**
 * Every process the benchmark starts, and how it ends them: each child is registered when it
 * is spawned and stopped (SIGTERM, SIGKILL after a grace period) when its row is done, when the
 * run ends, on Ctrl-C, or — SIGKILL, synchronously — when the benchmark process exits anyway.
 *
 * Workers (client pools, baseline servers, Kafka tools) are TypeScript modules forked with an
 * IPC channel: the parent calls their operations by name (see {@link forkWorker} and
 * {@link serveWorker}); a worker exits by itself when that channel closes, so none outlives a
 * benchmark that was killed outright.
 */
import { fork, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Every child still running, with its name and the order it was started in. */
const live = new Map<ChildProcess, { name: string; order: number }>();
let started = 0;
/** Set once the benchmark stops its children: anything started later is stopped at once. */
let stopping = false;

function register(child: ChildProcess, name: string): ChildProcess {
  if (stopping) {
    child.kill("SIGKILL");
    throw new Error(`the benchmark is stopping: ${name} not started`);
  }
  live.set(child, { name, order: (started += 1) });
  child.once("exit", () => live.delete(child));
  return child;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Stops `child`: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 8_000): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Stops every child still running, all at once. */
export async function stopAllProcesses(): Promise<void> {
  stopping = true;
  await Promise.all([...live.keys()].map((child) => stopProcess(child)));
}

/** The names of the children still running (for the interrupted-run message). */
export const runningProcesses = (): string[] => [...live.values()].map(({ name }) => name);

/** A mark for {@link stopProcessesSince}: the children started so far. */
export const processMark = (): number => started;

/** Stops the children started after `mark` (those of a section that ran out of time). */
export async function stopProcessesSince(mark: number): Promise<void> {
  await Promise.all([...live].filter(([, { order }]) => order > mark).map(([child]) => stopProcess(child, 3_000)));
}

// Last resort: whatever still runs when this process exits is killed with it.
process.once("exit", () => {
  for (const child of live.keys()) if (!exited(child)) child.kill("SIGKILL");
});

/** Spawns a program with its output appended to `logFile`. */
export function spawnLogged(name: string, command: string, args: readonly string[], logFile: string, options: SpawnOptions = {}): ChildProcess {
  const log = openSync(logFile, "a");
  return register(spawn(command, [...args], { ...options, stdio: ["ignore", log, log] }), name);
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

// --- workers -------------------------------------------------------------------------------

/** A worker's operations: each takes one structured-clonable argument and returns (a promise of) one. */
export type WorkerApi = Record<string, (args: never) => unknown>;

interface Request {
  readonly id: number;
  readonly op: string;
  readonly args: never;
}
type Response =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }
  /** The worker is about to exit on an error nobody caught. */
  | { readonly fatal: string };

/** A forked worker, seen from the parent. */
export interface Worker<Api extends WorkerApi> {
  readonly name: string;
  readonly pid: number;
  call<K extends keyof Api & string>(op: K, args: Parameters<Api[K]>[0]): Promise<Awaited<ReturnType<Api[K]>>>;
  stop(): Promise<void>;
}

/**
 * Forks `module` (a path relative to this folder) as a worker running under tsx, and resolves
 * once it has said it is ready. Values cross the channel with the structured clone algorithm
 * (typed arrays stay binary).
 */
export async function forkWorker<Api extends WorkerApi>(module: string, name: string, env: Record<string, string> = {}): Promise<Worker<Api>> {
  const file = fileURLToPath(new URL(module, import.meta.url));
  const child = register(
    fork(file, [], { execArgv: ["--import", "tsx"], serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, ...env } }),
    name,
  );
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  let fatal = "";
  const failAll = (error: Error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  child.on("message", (message: Response | "ready") => {
    if (message === "ready") return ready();
    if ("fatal" in message) return void (fatal = `: ${message.fatal}`);
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiting?.resolve(message.result);
    else waiting?.reject(new Error(`${name}: ${message.error}`));
  });
  const gone = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => {
      const error = new Error(`${name} exited (${signal ?? code})${fatal}`);
      failAll(error);
      reject(error);
    }),
  );
  gone.catch(() => undefined);
  await Promise.race([isReady, gone]);
  return {
    name,
    pid: child.pid!,
    call: (op, args) =>
      new Promise((resolve, reject) => {
        if (exited(child) || !child.connected) return reject(new Error(`${name} is not running`));
        const id = (next += 1);
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, op, args } satisfies Request);
      }),
    stop: () => stopProcess(child, 3_000),
  };
}

/** Runs in a worker: answers the parent's calls with `api`, and exits when the parent goes away. */
export function serveWorker(api: WorkerApi): void {
  const send = (response: Response) => process.send?.(response);
  process.on("message", (request: Request) => {
    const handler = api[request.op];
    if (handler === undefined) return send({ id: request.id, ok: false, error: `unknown operation ${request.op}` });
    Promise.resolve()
      .then(() => handler(request.args))
      .then(
        (result) => send({ id: request.id, ok: true, result }),
        (error: unknown) => send({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
  });
  process.on("disconnect", () => process.exit(0));
  // Whatever nobody caught ends the worker, and the parent learns why (the row shows it).
  const fatal = (error: unknown) => {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 300);
    console.error(error);
    if (process.connected) process.send?.({ fatal: message } satisfies Response, () => process.exit(1));
    setTimeout(() => process.exit(1), 1_000).unref();
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  process.on("SIGINT", () => undefined); // Ctrl-C reaches the whole process group: the parent decides when workers stop.
  process.send?.("ready");
}
