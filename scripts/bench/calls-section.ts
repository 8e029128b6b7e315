/** Row 7: call setup and offer relay latency with stock phoenix clients (./calls-probe.ts). */
import type { CallsProbeApi, CallsResult } from "./calls-probe.js";
import { attemptOurs, requireOurs, type Context } from "./context.js";
import { forkWorker } from "./processes.js";
import { failed, latency, row, verdict, type Row } from "./report.js";

/** The calls issue's goal for each leg of call setup, p99 (seed 000 asks < 2 s for the whole setup). */
const SETUP_P99_GOAL_MS = 100;
const SEED_SETUP_GOAL_MS = 2_000;

async function measure(context: Context): Promise<CallsResult> {
  const { gateways } = requireOurs(context);
  const probe = await forkWorker<CallsProbeApi>("./calls-probe.ts", "calls-probe");
  try {
    // Callers on one gateway, callees on the other: every push crosses Redis to another process.
    return await probe.call("measure", {
      callerSocketUrl: gateways[0]!.socketUrl,
      calleeSocketUrl: gateways[1]!.socketUrl,
      workspace: "bench-calls",
      pairs: 4,
      calls: context.plan.calls,
      warmUp: context.plan.quick ? 3 : 10,
    });
  } finally {
    await probe.stop();
  }
}

export async function callsSection(context: Context): Promise<Row[]> {
  context.progress(`7. call setup and offer relay, ${context.plan.calls} calls one after the other`);
  const result = await attemptOurs(context, () => measure(context));
  context.raw.calls = result instanceof Error ? { error: result.message } : result;
  if (result instanceof Error) {
    return [row("7", "calls: call setup and offer relay", { ours: failed(result) })];
  }
  const missed = result.missed === 0 ? "" : `; ${result.missed} calls or events missed (10 s)`;
  const { initiateToIncomingMs: ring, answerToAnsweredMs: answered, offerToCalleeMs: offer } = result;
  const whole = ring.p99 + answered.p99;
  return [
    row("7", "call setup: call:initiate → call:incoming at the callee, p50 / p99 / max ms (another gateway)", {
      ours: `${latency(ring)}${missed}`,
      goal: `p99 < ${SETUP_P99_GOAL_MS} ms: ${verdict(ring.p99 < SETUP_P99_GOAL_MS)}`,
    }),
    row("7", "call setup: call:answer → call:answered at the caller, p50 / p99 / max ms", {
      ours: latency(answered),
      goal: `p99 < ${SETUP_P99_GOAL_MS} ms: ${verdict(answered.p99 < SETUP_P99_GOAL_MS)}; both legs < ${SEED_SETUP_GOAL_MS / 1000} s (seed 000): ${verdict(whole < SEED_SETUP_GOAL_MS)}`,
    }),
    row("7", "offer relay: webrtc:offer pushed → webrtc:offer at the callee, p50 / p99 / max ms", { ours: latency(offer) }),
  ];
}
