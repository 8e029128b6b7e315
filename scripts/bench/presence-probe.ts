/**
 * Presence update latency, forked by the benchmark; the method of scripts/presence-latency.ts: a
 * watcher joined to `presence:<workspace>`; then, one after the other, users each open a socket
 * (connect → ConnectClient → presence processor → events → presence projection → presence_diff)
 * and close it again. Changes are spaced wider than the gateway's diff batching window
 * (PRESENCE_DIFF_INTERVAL_MS, 100 ms by default), so each opens a window instead of waiting in one.
 */
import { WebSocket } from "ws";
import { token } from "../bench-support.js";
import { serveWorker } from "./processes.js";
import { epochMs, summarize, type Summary } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

export interface PresenceArgs {
  readonly socketUrl: string;
  readonly workspace: string;
  readonly samples: number;
  readonly warmUp: number;
  readonly pauseMs: number;
}

export interface PresenceResult {
  readonly connectToJoinDiffMs: Summary;
  readonly closeToLeaveDiffMs: Summary;
  /** Changes whose diff did not arrive within 10 s. */
  readonly missed: number;
}

async function measure(args: PresenceArgs): Promise<PresenceResult> {
  const url = async (user: string) => `${args.socketUrl}?vsn=2.0.0&token=${await token(user, args.workspace)}&device_id=${user}`;
  const waiting = new Map<string, (at: number) => void>();
  const watcher = new WebSocket(await url("watcher"), { perMessageDeflate: false });
  await new Promise((resolve, reject) => watcher.once("open", resolve).once("error", reject));
  const joined = new Promise<void>((resolve) => {
    watcher.on("message", (data: Buffer) => {
      const at = epochMs();
      const [, ref, , event, payload] = JSON.parse(data.toString()) as Frame;
      if (ref === "1" && event === "phx_reply") resolve();
      if (event !== "presence_diff") return;
      for (const side of ["joins", "leaves"] as const) {
        for (const user of Object.keys(payload[side] as object)) waiting.get(`${side}:${user}`)?.(at);
      }
    });
  });
  watcher.send(JSON.stringify(["1", "1", `presence:${args.workspace}`, "phx_join", {}]));
  await joined;
  const seen = (key: string) => new Promise<number>((resolve) => waiting.set(key, resolve));
  const within = (diff: Promise<number>) => Promise.race([diff, sleep(10_000).then(() => NaN)]);

  const joinMs: number[] = [];
  const leaveMs: number[] = [];
  let missedInARow = 0;
  try {
    for (let i = 0; i < args.samples + args.warmUp; i += 1) {
      const user = `presence-${i}`;
      const socketUrl = await url(user);
      await sleep(args.pauseMs);
      const joinDiff = seen(`joins:${user}`);
      const opened = epochMs();
      const socket = new WebSocket(socketUrl, { perMessageDeflate: false });
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      const joinAt = await within(joinDiff);
      await sleep(args.pauseMs);
      const leaveDiff = seen(`leaves:${user}`);
      const closed = epochMs();
      socket.close();
      const leaveAt = await within(leaveDiff);
      // Diffs that stopped coming are an outage, not latency: say so instead of waiting out every sample.
      missedInARow = Number.isNaN(joinAt) || Number.isNaN(leaveAt) ? missedInARow + 1 : 0;
      if (missedInARow === 5) throw new Error(`no presence_diff within 10 s for 5 changes in a row (sample ${i + 1})`);
      // The first few settle the roles (group assignments, restores); they are not counted.
      if (i >= args.warmUp) {
        joinMs.push(joinAt - opened);
        leaveMs.push(leaveAt - closed);
      }
    }
  } finally {
    watcher.close();
  }
  const missed = [...joinMs, ...leaveMs].filter(Number.isNaN).length;
  const counted = (values: number[]) => Float64Array.from(values.filter((v) => !Number.isNaN(v)));
  return { connectToJoinDiffMs: summarize([counted(joinMs)]), closeToLeaveDiffMs: summarize([counted(leaveMs)]), missed };
}

const api = { measure };

export type PresenceProbeApi = typeof api;

serveWorker(api);
