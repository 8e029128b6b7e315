/**
 * The CPU a step of the benchmark cost: each process's user + system time between the step's
 * start and its end (service processes also by kind of thread), and the whole machine's, so a
 * row can say how many milliseconds of CPU each part spent per message sent.
 */
import { clockTicksPerSecond, readMachineCpu, readProcessCpu, type MachineStat, type ProcessCpu } from "./proc-stat.js";

/** A process to meter, and the group of the table it counts in ("service", "Kafka broker", "load generators"…). */
export interface Metered {
  readonly group: string;
  readonly name: string;
  readonly pid: number;
  /** Also split its time by kind of thread (see {@link threadKind}). */
  readonly threads?: boolean;
}

export type ThreadKind = "main" | "librdkafka" | "profiler" | "other";

/**
 * What a Node.js thread does, from its name: the JavaScript main thread (the thread id is the
 * pid), librdkafka's own threads (`rdk:main`, `rdk:broker…`), the V8 profiler's sampler under
 * `--cpu-prof`; everything else ("node": V8's GC and compiler helpers, the libuv pool) is other.
 * Only the main thread's time shows in a `.cpuprofile`.
 */
export function threadKind(pid: number, tid: number, comm: string): ThreadKind {
  if (tid === pid) return "main";
  if (comm.startsWith("rdk:")) return "librdkafka";
  if (comm.startsWith("v8:Prof")) return "profiler";
  return "other";
}

/** CPU milliseconds of one process over a window. */
export interface ProcessUse {
  readonly group: string;
  readonly name: string;
  readonly pid: number;
  readonly ms: number;
  /** By kind of thread; `other` also holds the time of threads that ended within the window. */
  readonly threads?: Readonly<Record<ThreadKind, number>>;
}

/**
 * The CPU `end` spent since `start` (two reads of one process), in milliseconds; undefined when
 * they are not the same process (the pid was recycled: the server restarted meanwhile).
 */
export function processUse(metered: Metered, start: ProcessCpu, end: ProcessCpu, ticksPerSecond: number): ProcessUse | undefined {
  if (start.startTicks !== end.startTicks) return undefined;
  const toMs = (ticks: number) => (ticks * 1000) / ticksPerSecond;
  const use = { group: metered.group, name: metered.name, pid: metered.pid, ms: toMs(end.cpuTicks - start.cpuTicks) };
  if (start.threads === undefined || end.threads === undefined) return use;
  const threads: Record<ThreadKind, number> = { main: 0, librdkafka: 0, profiler: 0, other: 0 };
  for (const [tid, thread] of end.threads) {
    const kind = threadKind(end.pid, tid, thread.comm);
    if (kind !== "other") threads[kind] += toMs(thread.cpuTicks - (start.threads.get(tid)?.cpuTicks ?? 0));
  }
  threads.other = Math.max(0, use.ms - threads.main - threads.librdkafka - threads.profiler);
  return { ...use, threads };
}

/** What a window cost. */
export interface CpuUse {
  /** The window on CLOCK_MONOTONIC in microseconds: the clock of a `.cpuprofile`'s timestamps. */
  readonly fromUs: number;
  readonly toUs: number;
  /** Messages sent in the window (0 for an idle window). */
  readonly messages: number;
  readonly processes: readonly ProcessUse[];
  /** Processes that could not be metered over the whole window, and why. */
  readonly missing: readonly { readonly group: string; readonly name: string; readonly reason: string }[];
  /** Busy time of every core of the machine, whoever spent it. */
  readonly machineMs: number;
}

/** A window under way. */
export interface CpuWindow {
  /** Ends the window; `messages` were sent during it. */
  stop(messages: number): CpuUse;
}

export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Sums the CPU milliseconds of `use`'s processes in `group` (all groups without one). */
export const groupMs = (use: CpuUse, group?: string): number => use.processes.filter((p) => group === undefined || p.group === group).reduce((sum, p) => sum + p.ms, 0);

/** What to meter, and what should have been but could not be found (with why). */
export interface MeterList {
  readonly processes: readonly Metered[];
  readonly missing: CpuUse["missing"];
}

/**
 * Meters the processes `list` returns, asked again at every window's start (a server may have
 * restarted between two steps, and a section's processes come and go).
 */
export class CpuMeter {
  constructor(private readonly list: () => MeterList) {}

  start(): CpuWindow {
    const { processes: metered, missing: notFound } = this.list();
    const fromUs = monotonicUs();
    const machine: MachineStat = readMachineCpu();
    const starts = metered.map((m) => readProcessCpu(m.pid, m.threads === true));
    return {
      stop: (messages) => {
        const ends = metered.map((m) => readProcessCpu(m.pid, m.threads === true));
        const machineEnd = readMachineCpu();
        const toUs = monotonicUs();
        const ticks = clockTicksPerSecond();
        const processes: ProcessUse[] = [];
        const missing: CpuUse["missing"][number][] = [...notFound];
        metered.forEach((m, i) => {
          const [start, end] = [starts[i], ends[i]];
          const use = start !== undefined && end !== undefined ? processUse(m, start, end, ticks) : undefined;
          if (use !== undefined) processes.push(use);
          else missing.push({ group: m.group, name: m.name, reason: start === undefined ? `pid ${m.pid} not running at the start` : "exited or restarted during the step" });
        });
        return { fromUs, toUs, messages, processes, missing, machineMs: ((machineEnd.busyTicks - machine.busyTicks) * 1000) / ticks };
      },
    };
  }
}
