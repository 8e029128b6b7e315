/**
 * Measures presence update latency end to end: a fresh service process (`quikchat start`, all
 * roles, on the local stack); a watcher joined to `presence:bench`; then, one after the other,
 * SAMPLES users each open a socket (connect → ConnectClient → presence processor → events →
 * presence projection → presence_diff) and close it again. Reports connect → join diff and
 * close → leave diff at the watcher (p50/p99/max), and writes bench-results/presence-latency.json.
 * Changes are 150 ms apart, so each one opens a batching window instead of waiting in one.
 *
 *   npx tsx scripts/presence-latency.ts        # SAMPLES=200
 */
import { mkdir, writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { startBenchService, summary, token } from "./bench-support.js";
import { sleep } from "../src/platform/sleep.js";

const SAMPLES = Number(process.env.SAMPLES ?? 200);
/** More than the gateway's diff batching window (PRESENCE_DIFF_INTERVAL_MS, 100 ms by default). */
const PAUSE_MS = 150;

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

async function main(): Promise<void> {
  const { service, port } = await startBenchService();
  const url = (user: string, jwt: string) => `ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0&token=${jwt}&device_id=${user}`;
  try {
    const waiting = new Map<string, (at: number) => void>();
    const watcher = new WebSocket(url("watcher", await token("watcher")));
    await new Promise((resolve) => watcher.once("open", resolve));
    watcher.on("message", (data: Buffer) => {
      const at = performance.now();
      const [, , , event, payload] = JSON.parse(data.toString()) as Frame;
      if (event !== "presence_diff") return;
      for (const side of ["joins", "leaves"] as const) {
        for (const user of Object.keys(payload[side] as object)) waiting.get(`${side}:${user}`)?.(at);
      }
    });
    watcher.send(JSON.stringify(["1", "1", "presence:bench", "phx_join", {}]));
    const seen = (key: string) => new Promise<number>((resolve) => waiting.set(key, resolve));

    const joinMs: number[] = [];
    const leaveMs: number[] = [];
    // The first few settle the roles (group assignments, restores); they are not counted.
    const warmUp = 10;
    for (let i = 0; i < SAMPLES + warmUp; i++) {
      const user = `user-${i}`;
      const jwt = await token(user);
      // Changes far enough apart that each is a leading edge of the diff batching window.
      await sleep(PAUSE_MS);
      const joined = seen(`joins:${user}`);
      const opened = performance.now();
      const socket = new WebSocket(url(user, jwt));
      await new Promise((resolve) => socket.once("open", resolve));
      const joinAt = await Promise.race([joined, sleep(10_000).then(() => NaN)]);
      await sleep(PAUSE_MS);
      const left = seen(`leaves:${user}`);
      const closed = performance.now();
      socket.close();
      const leaveAt = await Promise.race([left, sleep(10_000).then(() => NaN)]);
      if (i >= warmUp) {
        joinMs.push(joinAt - opened);
        leaveMs.push(leaveAt - closed);
      }
    }
    const result = { samples: SAMPLES, connectToJoinDiffMs: summary(joinMs), closeToLeaveDiffMs: summary(leaveMs), missed: [...joinMs, ...leaveMs].filter(Number.isNaN).length };
    console.log(JSON.stringify(result, null, 2));
    await mkdir("bench-results", { recursive: true });
    await writeFile("bench-results/presence-latency.json", `${JSON.stringify(result, null, 2)}\n`);
    watcher.close();
  } finally {
    service.kill("SIGTERM");
  }
  process.exit(0);
}

await main();
