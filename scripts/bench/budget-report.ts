/**
 * With `PROFILE_DIR`: the budget of one message over the service's rate steps, printed after
 * the benchmark's table. The profiles (written when the service processes exit) give each
 * stage's share of the JavaScript main threads; beside them, what /proc measured for the same
 * windows, main threads and the threads no profile sees (librdkafka's, V8's helpers, libuv's).
 */
import type { CpuUse, ThreadKind } from "./cpu-meter.js";
import { SERVICE } from "./cost-rows.js";
import { budgetOf, readProfiles, renderBudget, type ExtraRow } from "./profile-budget.js";

/** The budget table of the service processes `pids` over `steps`, and its figures for the JSON file. */
export function serviceBudget(dir: string, pids: readonly number[], steps: readonly { readonly label: string; readonly cpu: CpuUse }[]): { text: string; raw: unknown } {
  const profiles = readProfiles(dir, pids);
  if (profiles.length === 0) throw new Error(`no .cpuprofile of the service processes (pids ${pids.join(", ")}) in ${dir}`);
  const windows = steps.map(({ label, cpu }) => ({ label, fromUs: cpu.fromUs, toUs: cpu.toUs, messages: cpu.messages }));
  const mainCpuUs = new Map(pids.map((pid) => [pid, steps.map(({ cpu }) => 1000 * (cpu.processes.find((p) => p.pid === pid && p.group === SERVICE)?.threads?.main ?? NaN))]));
  const budget = budgetOf(profiles, windows, { mainCpuUs });
  const threads = (pick: (kinds: Readonly<Record<ThreadKind, number>>) => number) =>
    steps.map(({ cpu }) => 1000 * cpu.processes.filter((p) => p.group === SERVICE).reduce((sum, p) => sum + (p.threads === undefined ? NaN : pick(p.threads)), 0));
  const sampled = windows.map((_, w) => budget.processes.reduce((sum, p) => sum + p.sampledUs[w]! - p.idleUs[w]!, 0));
  const extra: ExtraRow[] = [
    { label: "profiles: sampled busy time (wall time, waits for a core included)", us: sampled },
    { label: "/proc: librdkafka threads' CPU (not in the profiles)", us: threads((t) => t.librdkafka) },
    { label: "/proc: other threads' CPU (V8 helpers, libuv pool; not in the profiles)", us: threads((t) => t.other) },
    { label: "/proc: the V8 profiler's own thread (only while profiling)", us: threads((t) => t.profiler) },
  ];
  const processes = budget.processes.map((p) => `pid ${p.pid} (${p.roles})`).join(", ");
  const text =
    `Budget of one message (PROFILE_DIR=${dir}; profiles of ${processes}; each step from its first send until the service settled again). ` +
    `Each process's stages keep their shares of its sampled time and add up to its main thread's CPU from /proc, ` +
    `which includes the profiler's sampling (see "no load"):\n\n${renderBudget(budget, extra)}`;
  const raw = {
    dir,
    processes: budget.processes.map(({ pid, file, roles, idleUs, sampledUs }) => ({ pid, file, roles, idleUs, sampledUs })),
    windows,
    stagesUs: Object.fromEntries(budget.stages.map(({ stage, us }) => [stage, us])),
    procUs: Object.fromEntries(extra.map(({ label, us }) => [label, us])),
  };
  return { text, raw };
}
