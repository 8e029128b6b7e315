import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { projectRoot } from "../../src/platform/config/project.js";
import { eventually, uniquePrefix } from "./test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "./tokens.js";

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Runs the `quikchat` CLI from source as a separate process, as an operator would. */
export function runCli(args: readonly string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: projectRoot(),
    // As bin/quikchat.cjs does for the installed command: a process of every role polls eleven consumers.
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "64", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
}

/**
 * Starts `quikchat start` (all roles, or `args`) on a free port with its own topic prefix (unless
 * `env` gives one) and the test JWT secret, and resolves once `/health/ready` answers 200.
 */
export async function startService(label: string, env: Record<string, string> = {}, args: readonly string[] = ["start"]): Promise<{ service: ServiceProcess; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const service = runCli(args, {
    PORT: String(port),
    HOST: "127.0.0.1",
    KAFKA_TOPIC_PREFIX: uniquePrefix(label),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "warn",
    ...env,
  });
  await eventually(
    async () => {
      if (service.child.exitCode !== null) throw new Error(`exited early:\n${service.output()}`);
      const response = await fetch(`${base}/health/ready`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    },
    120_000,
    "the service to be ready",
  );
  return { service, base };
}

/** Closes the test's sockets, then stops the service (SIGTERM) and waits for it to exit. */
export async function stopService(service: ServiceProcess, sockets: readonly { disconnect(): void }[] = []): Promise<void> {
  for (const socket of sockets) socket.disconnect();
  service.child.kill("SIGTERM");
  await service.exited;
}

/** A REST answer: its status and its JSON body (`{}` when empty). */
export interface RestAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Requests to the service at `base` as `user` of workspace `w1` would make them (a bearer token
 * of theirs), with a JSON body when one is given (`raw`: sent as it is).
 */
export function restClient(base: string) {
  return async (user: string, method: string, path: string, body?: unknown, raw?: string): Promise<RestAnswer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(user, "w1")}` };
    if (body !== undefined || raw !== undefined) headers["content-type"] = "application/json";
    const sent = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const response = await fetch(`${base}${path}`, { method, headers, ...(sent === undefined ? {} : { body: sent }) });
    const text = await response.text();
    return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
  };
}
