/**
 * The service under test: the build, the local stack, `quikchat start` processes (one with every
 * role, gateways with `--role gateway`) sharing one topic prefix and JWT secret, and the REST
 * calls that set up conversations.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { BENCH_SECRET, freePort, token } from "../bench-support.js";
import { rssBytes, spawnLogged, stopProcess } from "./processes.js";
import { sleep } from "../../src/platform/sleep.js";

const run = promisify(execFile);

/**
 * What every service process of the run gets: high rate limits, quiet logs, the bench secret,
 * and a 5-minute idle timeout: a client process busy receiving a million deliveries (on the
 * same two cores as the server) can send its 30-second heartbeats late, and a live client must
 * not be dropped as dead (the Socket.IO baseline gets the same allowance for its pings).
 */
const SERVICE_ENV: Readonly<Record<string, string>> = {
  HOST: "127.0.0.1",
  JWT_SECRET: BENCH_SECRET,
  LOG_LEVEL: "warn",
  WS_IDLE_TIMEOUT_MS: "300000",
  // The run brings the stack up once (stackUp); each process need not check it again.
  QUIKCHAT_STACK: "off",
  RATE_LIMIT_MESSAGES_PER_MIN: "100000000",
  RATE_LIMIT_TOTAL_PER_MIN: "100000000",
  RATE_LIMIT_JOINS_PER_MIN: "100000000",
  RATE_LIMIT_EVENTS_PER_MIN: "100000000",
};

/** Runs `npm run build` (the service runs from dist/ as the installed command does); output to `log`. */
export async function build(log: string): Promise<void> {
  try {
    await run("sh", ["-c", `npm run --silent build >> '${log}' 2>&1`]);
  } catch {
    throw new Error(`npm run build failed: ${tail(log)}`);
  }
}

/** `quikchat stack up` (starts what is not running, reuses the rest), unless QUIKCHAT_STACK=off (a stack run elsewhere). */
export async function stackUp(): Promise<string> {
  if (process.env.QUIKCHAT_STACK === "off") return "QUIKCHAT_STACK=off: not managed";
  try {
    const { stdout } = await run(process.execPath, ["bin/quikchat.cjs", "stack", "up"], { env: { ...process.env, LOG_LEVEL: "warn" } });
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`quikchat stack up failed: ${stderr.trim().split("\n").slice(-2).join(" | ")}`);
  }
}

/** The last error a log shows (a thrown error's first line, or a pino error/fatal message), else its last lines. */
function tail(file: string, lines = 4): string {
  if (!existsSync(file)) return "";
  const all = readFileSync(file, "utf8").trim().split("\n");
  const error = all.findLast((line) => /^\w*Error\b/.test(line) || /"level":(50|60)/.test(line));
  return (error ?? all.slice(-lines).join(" | ")).slice(0, 400);
}

/** One `quikchat start` process. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** The Phoenix socket endpoint, without query. */
  readonly socketUrl: string;
  /** Undefined while the process runs; once it has exited, how (and the last error its log shows). */
  exited(): string | undefined;
  rss(): number;
  stop(): Promise<void>;
}

/**
 * Starts `node bin/quikchat.cjs start --role <role>` on a free port with the run's prefix and
 * resolves once `/health/ready` answers 200. `PROFILE_DIR` adds `--cpu-prof` (profiles written
 * when the process exits).
 */
export async function startService(name: string, role: "all" | "gateway", prefix: string, logDir: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = `${logDir}/${name}.log`;
  const profile = process.env.PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
  const heap = process.env.HEAP_SNAPSHOT_DIR ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${process.env.HEAP_SNAPSHOT_DIR}`] : [];
  const child = spawnLogged(name, process.execPath, [...profile, ...heap, "bin/quikchat.cjs", "start", "--role", role], log, {
    // NODE_NAME names the process's command-reply channel: unique per process and run.
    env: { ...process.env, ...SERVICE_ENV, PORT: String(port), NODE_NAME: `${prefix}${name}`, KAFKA_TOPIC_PREFIX: prefix, ...env },
  });
  for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it was ready: ${tail(log)}`);
    if ((await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200) break;
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`${name} not ready after 120 s: ${tail(log)}`);
    }
  }
  return {
    name,
    pid: child.pid!,
    base,
    socketUrl: `ws://127.0.0.1:${port}/socket/websocket`,
    exited: () => (child.exitCode === null && child.signalCode === null ? undefined : `${name} exited (${child.signalCode ?? child.exitCode}): ${tail(log)}`),
    rss: () => rssBytes(child.pid!),
    stop: () => stopProcess(child, 15_000),
  };
}

async function rest(base: string, user: string, workspace: string, path: string, body?: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${await token(user, workspace)}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.ok) return response.json();
    // 503: Kafka or the processor did not answer in time; the command is safe to retry.
    if (response.status !== 503 || attempt === 5) throw new Error(`${body === undefined ? "GET" : "POST"} ${path}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  }
}

/**
 * Creates a group conversation owned by `owner` with `members` (at most 999 others) in
 * `workspace`; resolves with its id once members may join.
 */
export async function createConversation(base: string, owner: string, members: readonly string[], workspace = "bench"): Promise<string> {
  const created = (await rest(base, owner, workspace, "/api/conversations", { type: "group", members, name: "bench" })) as { id: string };
  return created.id;
}

/** How many members the membership read model shows for conversation `id` (asked as `member`). */
export async function memberCount(base: string, member: string, id: string, workspace = "bench"): Promise<number> {
  const conversation = (await rest(base, member, workspace, `/api/conversations/${id}`)) as { members: unknown[] };
  return conversation.members.length;
}

/**
 * Registers a device of `user` with one push token (`POST /api/devices`, as the app does), and
 * resolves once the devices read model lists it (the notifier reads it from there).
 */
export async function registerDevice(base: string, user: string, workspace: string, device: { deviceId: string; platform: "ios" | "android"; pushProvider: "apns" | "fcm"; pushToken: string }): Promise<void> {
  await rest(base, user, workspace, "/api/devices", device);
  for (const deadline = Date.now() + 10_000; ; await sleep(50)) {
    const { devices } = (await rest(base, user, workspace, "/api/devices")) as { devices: { deviceId: string }[] };
    if (devices.some((one) => one.deviceId === device.deviceId)) return;
    if (Date.now() > deadline) throw new Error(`device ${device.deviceId} of ${user} not in the devices read model after 10 s`);
  }
}

/** How many users the presence read model shows online in `workspace` (asked as `user`). */
export async function onlineCount(base: string, user: string, workspace: string): Promise<number> {
  return ((await rest(base, user, workspace, "/api/presence/online")) as { count: number }).count;
}

// --- what a run leaves behind ---------------------------------------------------------------

/**
 * The prefix of a run (`bench.r<epoch seconds>.`), and whether a name (topic, subject, or
 * table with `_` for `.`) belongs to a run of this benchmark, or of `scripts/bench-support.ts`
 * (`bench.<epoch ms>.`), that started over an hour ago.
 */
export const runPrefix = (startedMs: number): string => `bench.r${Math.floor(startedMs / 1000)}.`;

export function isStale(name: string, nowMs: number): boolean {
  const match = /^bench[._](r?)(\d+)[._]/.exec(name);
  if (match === null) return false;
  const startedMs = match[1] === "r" ? Number(match[2]) * 1000 : Number(match[2]);
  return startedMs < nowMs - 3_600_000;
}
