/**
 * `npx tsx scripts/bench/profile-budget.ts <dir> [--messages N] [--from µs --to µs] [--pids 1,2] [--frames K]`
 *
 * The budget of one message: reads the `.cpuprofile` files `node --cpu-prof` wrote in `dir` (the
 * benchmark's `PROFILE_DIR`), attributes every sample to a stage (see ./profile-stages.ts) and
 * prints a markdown table of microseconds per message per stage, summed over the processes.
 * `--messages` is what was sent in the time covered (without it, milliseconds in all);
 * `--from`/`--to` bound that time on CLOCK_MONOTONIC in µs (the profiles' clock; default: all
 * of it); `--pids` keeps those processes' profiles only; `--frames K` also lists each stage's K
 * heaviest frames, to check or refine the mapping. A profile covers a process's JavaScript main
 * thread only, in sampled wall time: see the README's "Figures" for what that leaves out.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { profileBudget, stageOrder, type BudgetWindow, type CpuProfile, type ProcessBudget } from "./profile-stages.js";

/** A profile file and the process it came from (`CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile`). */
export interface ProfileFile {
  readonly file: string;
  readonly pid: number;
  readonly profile: CpuProfile;
}

/** The profiles in `dir`, those of `pids` only when given, oldest first. */
export function readProfiles(dir: string, pids?: readonly number[]): ProfileFile[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .sort()
    .map((name) => ({ name, pid: Number(/^CPU\.\d+\.\d+\.(\d+)\./.exec(name)?.[1]) }))
    .filter(({ pid }) => pids === undefined || pids.includes(pid))
    .map(({ name, pid }) => ({ file: join(dir, name), pid, profile: JSON.parse(readFileSync(join(dir, name), "utf8")) as CpuProfile }));
}

/** The budget of several processes over the same windows. */
export interface Budget {
  readonly windows: readonly BudgetWindow[];
  readonly processes: readonly (ProcessBudget & { readonly pid: number; readonly file: string })[];
  /** Rows in order: microseconds per window, summed over the processes (CPU time when `scaled`, else sampled time). */
  readonly stages: readonly { readonly stage: string; readonly us: readonly number[] }[];
  /** Whether each process's stages were scaled to its main thread's measured CPU time. */
  readonly scaled: boolean;
}

/**
 * Attributes each profile over `windows` and adds the processes up by stage.
 *
 * A sample lasts until the next one in wall time: while a busy thread waits for a core (two
 * cores shared with the broker and the clients), its stack collects time it did not run. With
 * `mainCpuUs` (each pid's main-thread CPU per window, measured from /proc), a process's stages
 * keep their shares of its sampled busy time but add up to that CPU time instead; a window where
 * the process was sampled busy not at all leaves its CPU under "<roles>: not sampled".
 */
export function budgetOf(
  profiles: readonly ProfileFile[],
  windows: readonly BudgetWindow[],
  options: { frames?: boolean; mainCpuUs?: ReadonlyMap<number, readonly number[]> } = {},
): Budget {
  const processes = profiles.map(({ file, pid, profile }) => ({ file, pid, ...profileBudget(profile, windows, options) }));
  const { mainCpuUs } = options;
  const scaledStages = processes.map((p) =>
    p.stages.map((byStage, w) => {
      const cpu = mainCpuUs?.get(p.pid)?.[w];
      if (cpu === undefined || !Number.isFinite(cpu)) return byStage;
      const busy = p.sampledUs[w]! - p.idleUs[w]!;
      if (busy <= 0) return new Map(cpu > 0 ? [[`${p.roles}: not sampled`, cpu]] : []);
      return new Map([...byStage].map(([stage, us]) => [stage, (us * cpu) / busy]));
    }),
  );
  const names = new Set(scaledStages.flatMap((perWindow) => perWindow.flatMap((byStage) => [...byStage.keys()])));
  const stages = [...names].sort(stageOrder).map((stage) => ({ stage, us: windows.map((_, w) => scaledStages.reduce((sum, perWindow) => sum + (perWindow[w]!.get(stage) ?? 0), 0)) }));
  return { windows, processes, stages, scaled: mainCpuUs !== undefined };
}

/** A row added under the stages (the benchmark's /proc figures of the same windows), in microseconds per window. */
export interface ExtraRow {
  readonly label: string;
  readonly us: readonly number[];
}

const fixed = (n: number) => (!Number.isFinite(n) ? "n/a" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/**
 * The budget as a markdown table: per window, microseconds per message sent (milliseconds in all
 * when a window has no messages) and each stage's share of the sampled busy time.
 */
export function renderBudget(budget: Budget, extra: readonly ExtraRow[] = []): string {
  const { windows } = budget;
  const busy = windows.map((_, w) => budget.stages.reduce((sum, s) => sum + s.us[w]!, 0));
  const cell = (us: number, w: number, share: boolean) => {
    const { messages } = windows[w]!;
    const amount = messages > 0 ? `${fixed(us / messages)} µs` : `${fixed(us / 1000)} ms`;
    return share && busy[w]! > 0 ? `${amount} (${((100 * us) / busy[w]!).toFixed(1)}%)` : amount;
  };
  const header = [budget.scaled ? "stage (JavaScript main threads: profile shares × /proc CPU)" : "stage (JavaScript main threads, sampled wall time)", ...windows.map((w) => (w.messages > 0 ? `${w.label}: per message (share)` : `${w.label}: in all (share)`))];
  const lines = [
    header,
    ...budget.stages.filter((s) => s.us.some((us) => us > 0)).map((s) => [s.stage, ...s.us.map((us, w) => cell(us, w, true))]),
    [budget.scaled ? "all stages (the main threads' CPU)" : "all stages (sampled, not idle)", ...busy.map((us, w) => cell(us, w, false))],
    ...extra.map((row) => [row.label, ...row.us.map((us, w) => cell(us, w, false))]),
  ];
  const widths = header.map((_, c) => Math.max(3, ...lines.map((line) => line[c]!.length)));
  const render = (line: string[]) => `| ${line.map((text, c) => (c === 0 ? text.padEnd(widths[c]!) : text.padStart(widths[c]!))).join(" | ")} |`;
  return [render(lines[0]!), `|${widths.map((w, c) => `${"-".repeat(w + 1)}${c === 0 ? "-" : ":"}`).join("|")}|`, ...lines.slice(1).map(render)].join("\n");
}

/** Each stage's `top` heaviest frames (innermost frame < innermost service frame), over every window. */
export function renderFrames(budget: Budget, top: number): string {
  const byStage = new Map<string, Map<string, number>>();
  for (const process of budget.processes) {
    for (const [stage, frames] of process.frames ?? []) {
      let sum = byStage.get(stage);
      if (sum === undefined) byStage.set(stage, (sum = new Map<string, number>()));
      for (const [label, us] of frames) sum.set(label, (sum.get(label) ?? 0) + us);
    }
  }
  return [...byStage]
    .sort(([a], [b]) => stageOrder(a, b))
    .map(([stage, frames]) => {
      const heaviest = [...frames].sort((a, b) => b[1] - a[1]).slice(0, top);
      return [`${stage}:`, ...heaviest.map(([label, us]) => `  ${fixed(us / 1000).padStart(8)} ms  ${label}`)].join("\n");
    })
    .join("\n");
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { messages: { type: "string" }, from: { type: "string" }, to: { type: "string" }, pids: { type: "string" }, frames: { type: "string" } },
  });
  const dir = positionals[0];
  if (dir === undefined) throw new Error("usage: profile-budget.ts <dir> [--messages N] [--from µs --to µs] [--pids 1,2] [--frames K]");
  const number = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text.replaceAll(",", "").replaceAll("_", ""));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, not ${text}`);
    return n;
  };
  const profiles = readProfiles(dir, values.pids?.split(",").map((pid) => Number(pid.trim())));
  if (profiles.length === 0) throw new Error(`no .cpuprofile files${values.pids === undefined ? "" : ` of pids ${values.pids}`} in ${dir}`);
  const window: BudgetWindow = {
    label: values.from === undefined && values.to === undefined ? "whole profiles" : "window",
    fromUs: number("from", values.from) ?? Math.min(...profiles.map((p) => p.profile.startTime)),
    toUs: number("to", values.to) ?? Math.max(...profiles.map((p) => p.profile.endTime)) + 1,
    messages: number("messages", values.messages) ?? 0,
  };
  const top = number("frames", values.frames);
  const budget = budgetOf(profiles, [window], { frames: top !== undefined });
  for (const p of budget.processes) {
    const busyMs = (p.sampledUs[0]! - p.idleUs[0]!) / 1000;
    console.log(`pid ${p.pid} (${p.roles}): ${fixed(busyMs)} ms busy, ${fixed(p.idleUs[0]! / 1000)} ms idle, ${p.file}`);
  }
  console.log(`\n${renderBudget(budget)}`);
  if (top !== undefined) console.log(`\n${renderFrames(budget, top)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
