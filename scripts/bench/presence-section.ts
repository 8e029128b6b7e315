/** Row 5: presence update latency at a watcher (./presence-probe.ts). */
import { attemptOurs, requireOurs, type Context } from "./context.js";
import { forkWorker } from "./processes.js";
import type { PresenceProbeApi, PresenceResult } from "./presence-probe.js";
import { failed, latency, row, verdict, type Row } from "./report.js";

/** The speed issue's goal for connect → diff, p99. */
const JOIN_DIFF_P99_GOAL_MS = 25;

async function measure(context: Context): Promise<PresenceResult> {
  const { gateways } = requireOurs(context);
  const probe = await forkWorker<PresenceProbeApi>("./presence-probe.ts", "presence-probe");
  try {
    // A workspace of its own: no other row's connections in the watcher's presence.
    return await probe.call("measure", { socketUrl: gateways[0]!.socketUrl, workspace: "bench-presence", samples: context.plan.presenceSamples, warmUp: context.plan.quick ? 3 : 10, pauseMs: 150 });
  } finally {
    await probe.stop();
  }
}

export async function presenceSection(context: Context): Promise<Row[]> {
  context.progress(`5. presence latency, ${context.plan.presenceSamples} samples`);
  const result = await attemptOurs(context, () => measure(context));
  context.raw.presence = result instanceof Error ? { error: result.message } : result;
  const missed = result instanceof Error || result.missed === 0 ? "" : `; ${result.missed} diffs missed (10 s)`;
  return [
    row("5", "presence: socket connect → presence_diff join at a watcher, p50 / p99 / max ms (changes 150 ms apart)", {
      ours: result instanceof Error ? failed(result) : `${latency(result.connectToJoinDiffMs)}${missed}`,
      goal: `p99 ≤ ${JOIN_DIFF_P99_GOAL_MS} ms: ${result instanceof Error ? "not measured" : verdict(result.connectToJoinDiffMs.p99 <= JOIN_DIFF_P99_GOAL_MS)}`,
    }),
    row("5", "presence: socket close → presence_diff leave at a watcher, p50 / p99 / max ms", {
      ours: result instanceof Error ? failed(result) : latency(result.closeToLeaveDiffMs),
    }),
  ];
}
