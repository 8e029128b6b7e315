/** What the measurement scripts share: a service process of their own, tokens, percentiles. */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { SignJWT } from "jose";
import { sleep } from "../src/platform/sleep.js";

export const BENCH_SECRET = "loop-latency-secret-0123456789abcdefghij";

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** An HS256 token for `user` in `workspace` (`bench` by default), as the service started by {@link startBenchService} accepts. */
export const token = (user: string, workspace = "bench") =>
  new SignJWT({ workspace_id: workspace })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(BENCH_SECRET));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Count, p50, p99 and max of `values` (milliseconds, one decimal). */
export const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { count: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) };
};

/**
 * A fresh `quikchat start` (all roles, on the local stack, a topic prefix of its own) from a
 * fresh build, run as the installed command runs (`bin/quikchat.cjs`), ready to serve;
 * `PROFILE_DIR` adds `--cpu-prof` to it.
 */
export async function startBenchService(env: Record<string, string> = {}): Promise<{ service: ChildProcess; port: number; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const profile = process.env.PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
  const service = spawn(process.execPath, [...profile, "bin/quikchat.cjs", "start"], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", JWT_SECRET: BENCH_SECRET, LOG_LEVEL: "warn", KAFKA_TOPIC_PREFIX: `bench.${Date.now()}.`, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (let ready = false; !ready; await sleep(250)) {
    ready = (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200;
    if (service.exitCode !== null) throw new Error("the service exited");
  }
  return { service, port, base };
}
