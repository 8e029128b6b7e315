/**
 * CPU time of processes, their threads and the whole machine, read from Linux /proc: a
 * process's `utime + stime` in clock ticks (`/proc/<pid>/stat`, threads under `task/`), and the
 * machine's busy ticks over all cores (`/proc/stat`).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** What `/proc/<pid>/stat` (or a thread's `task/<tid>/stat`) says about CPU, in clock ticks. */
export interface ProcessStat {
  readonly comm: string;
  readonly state: string;
  /** utime + stime: user and system time, waited-for children excluded. */
  readonly cpuTicks: number;
  /** Ticks after boot when the process started: tells a recycled pid apart. */
  readonly startTicks: number;
}

/**
 * Parses the text of `/proc/<pid>/stat`. The command name sits in parentheses and may itself hold
 * spaces and parentheses, so fields are counted from the last `)`; field 14 is utime, 15 stime,
 * 22 starttime (proc(5), counted from 1).
 */
export function parseProcessStat(text: string): ProcessStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 80)}`);
  // After ") " comes field 3 (state): field n is at index n - 3.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number) => {
    const value = Number(fields[n - 3]);
    if (!Number.isSafeInteger(value)) throw new Error(`/proc stat field ${n} missing or not a number: ${text.slice(0, 80)}`);
    return value;
  };
  return { comm: text.slice(open + 1, close), state: fields[0] ?? "?", cpuTicks: field(14) + field(15), startTicks: field(22) };
}

/** The machine's CPU over all cores since boot, from `/proc/stat`, in clock ticks. */
export interface MachineStat {
  /** user, nice, system, irq, softirq, steal (guest time is already inside user and nice). */
  readonly busyTicks: number;
  /** busy + idle + iowait. */
  readonly totalTicks: number;
}

/** Parses the aggregate `cpu ` line of `/proc/stat`. */
export function parseMachineStat(text: string): MachineStat {
  const line = /^cpu\s+([\d\s]+)$/m.exec(text)?.[1];
  if (line === undefined) throw new Error("no aggregate cpu line in /proc/stat");
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
  const busyTicks = user + nice + system + irq + softirq + steal;
  return { busyTicks, totalTicks: busyTicks + idle + iowait };
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (the unit of every tick count above), read once; 100 where getconf is missing. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    let value = NaN;
    try {
      value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      // Linux has used 100 on every common architecture for decades.
    }
    ticksPerSecond = Number.isSafeInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** One process's CPU now, and optionally its live threads' (keyed by thread id). */
export interface ProcessCpu extends ProcessStat {
  readonly pid: number;
  readonly threads?: ReadonlyMap<number, ProcessStat>;
}

/**
 * Reads `pid`'s CPU (and, with `threads`, each live thread's); undefined when the process is gone.
 * A thread that ends between the listing and the read is skipped: its time stays in the process's.
 */
export function readProcessCpu(pid: number, threads = false): ProcessCpu | undefined {
  let stat: ProcessStat;
  try {
    stat = parseProcessStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
  if (!threads) return { pid, ...stat };
  const byThread = new Map<number, ProcessStat>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Gone since: the process total stands alone.
  }
  for (const tid of tids) {
    try {
      byThread.set(Number(tid), parseProcessStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")));
    } catch {
      // That thread ended meanwhile.
    }
  }
  return { pid, ...stat, threads: byThread };
}

/** The machine's CPU now. */
export const readMachineCpu = (): MachineStat => parseMachineStat(readFileSync("/proc/stat", "utf8"));
