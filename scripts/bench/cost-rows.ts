/**
 * The cost rows of the latency section: CPU milliseconds per message sent at each fixed rate,
 * for the service (in all, by process, by kind of thread), each server it runs on, the load
 * generators and the whole machine, beside the same figures of the `ws` and Socket.IO baselines;
 * and what every process spends with no load at all.
 */
import { groupMs, type CpuUse, type ProcessUse, type ThreadKind } from "./cpu-meter.js";
import { failed, int, row, times, verdict, type Row } from "./report.js";

/** What one system's rate steps cost, and a window with no load before them. */
export interface Cost {
  readonly byRate: ReadonlyMap<number, CpuUse | Error>;
  readonly idle: CpuUse | Error;
}

/** The service's processes are metered in this group (a baseline's server too), each client process in the load group. */
export const SERVICE = "service";
export const LOAD = "load generators";
/** The name of the service process that runs every role. */
export const ALL_ROLES = "all roles";

/** The goal of issue 12: service CPU per message sent, all roles together (10 deliveries each). */
export const SERVICE_GOAL_MS = 0.25;

/** A figure of one window: CPU milliseconds, or why it is not known. */
type Figure = { readonly ms: number } | { readonly unknown: string };

/** The milliseconds of the processes `pick` selects (or of `value` of each), unknown when one of them could not be metered. */
function figure(use: CpuUse, select: (p: { group: string; name: string }) => boolean, value: (p: ProcessUse) => number = (p) => p.ms): Figure {
  const missing = use.missing.find(select);
  if (missing !== undefined) return { unknown: `${missing.name}: ${missing.reason}` };
  const processes = use.processes.filter(select);
  if (processes.length === 0) return { unknown: "not metered" };
  return { ms: processes.reduce((sum, p) => sum + value(p), 0) };
}

/** Milliseconds per message: three significant digits. */
export const perMessage = (ms: number): string => (!Number.isFinite(ms) ? "n/a" : ms >= 100 ? int(ms) : ms.toPrecision(3));

interface CostLine {
  readonly what: string;
  readonly ours: (use: CpuUse) => Figure;
  /** The same figure of a baseline's run; none: the row has no baseline cells. */
  readonly baseline?: (use: CpuUse) => Figure;
}

const inGroup = (group: string) => (p: { group: string }) => p.group === group;
const thread = (kind: ThreadKind) => (p: ProcessUse) => p.threads?.[kind] ?? NaN;

function lines(cost: Cost): CostLine[] {
  const servers = new Set<string>();
  for (const use of [cost.idle, ...cost.byRate.values()]) {
    if (use instanceof Error) continue;
    for (const p of [...use.processes, ...use.missing]) if (p.group !== SERVICE && p.group !== LOAD) servers.add(p.group);
  }
  const service = inGroup(SERVICE);
  return [
    { what: "service, every process (baselines: their server)", ours: (use) => figure(use, service), baseline: (use) => figure(use, service) },
    { what: "service: the all-roles process (processors, projections)", ours: (use) => figure(use, (p) => service(p) && p.name === ALL_ROLES) },
    { what: "service: the gateway processes", ours: (use) => figure(use, (p) => service(p) && p.name !== ALL_ROLES) },
    { what: "service: JavaScript main threads", ours: (use) => figure(use, service, thread("main")), baseline: (use) => figure(use, service, thread("main")) },
    { what: "service: librdkafka threads", ours: (use) => figure(use, service, thread("librdkafka")) },
    {
      what: "service: other threads (V8 GC helpers, libuv pool, profiler)",
      ours: (use) => figure(use, service, (p) => (p.threads?.other ?? NaN) + (p.threads?.profiler ?? 0)),
      baseline: (use) => figure(use, service, (p) => (p.threads?.other ?? NaN) + (p.threads?.profiler ?? 0)),
    },
    ...[...servers].map((group): CostLine => ({ what: `${group} (baselines: idle or others' load)`, ours: (use) => figure(use, inGroup(group)), baseline: (use) => figure(use, inGroup(group)) })),
    {
      what: "load generators (client processes)",
      ours: (use) => figure(use, inGroup(LOAD)),
      baseline: (use) => figure(use, inGroup(LOAD)),
    },
    {
      what: "whole machine (/proc/stat, others' work included)",
      ours: (use) => ({ ms: use.machineMs }),
      baseline: (use) => ({ ms: use.machineMs }),
    },
  ];
}

/** The figure per message sent at each rate ("a / b / c"), or why it is missing. */
function perRate(cost: Cost | Error, rates: readonly number[], pick: ((use: CpuUse) => Figure) | undefined): string {
  if (pick === undefined) return "—";
  if (cost instanceof Error) return failed(cost);
  return rates
    .map((rate) => {
      const use = cost.byRate.get(rate);
      if (use === undefined) return "not run";
      if (use instanceof Error) return failed(use);
      if (use.messages === 0) return "no messages";
      const value = pick(use);
      return "ms" in value && Number.isFinite(value.ms) ? perMessage(value.ms / use.messages) : `n/a (${"unknown" in value ? value.unknown : "not metered"})`;
    })
    .join(" / ");
}

/** Milliseconds per message of `pick` at `rate`, NaN when unknown. */
function valueAt(cost: Cost | Error, rate: number, pick: (use: CpuUse) => Figure): number {
  if (cost instanceof Error) return NaN;
  const use = cost.byRate.get(rate);
  if (use === undefined || use instanceof Error || use.messages === 0) return NaN;
  const value = pick(use);
  return "ms" in value ? value.ms / use.messages : NaN;
}

/** CPU ms per second of each group while nothing was sent. */
function idleCell(cost: Cost | Error): string {
  if (cost instanceof Error) return failed(cost);
  const use = cost.idle;
  if (use instanceof Error) return failed(use);
  const seconds = (use.toUs - use.fromUs) / 1e6;
  const groups = [...new Set(use.processes.map((p) => p.group))];
  const rate = (ms: number) => (ms / seconds).toFixed(1);
  return [...groups.map((group) => `${group} ${rate(groupMs(use, group))}`), `machine ${rate(use.machineMs)}`].join(", ");
}

/**
 * The cost rows: one per part, its cells the CPU milliseconds per message sent at each of
 * `rates`; the service row carries the goal and the ratios to the baselines.
 */
export function costRows(rates: readonly number[], idleSeconds: number, ours: Cost | Error, ws: Cost | Error, socketio: Cost | Error): Row[] {
  const at = `@ ${rates.map(int).join(" / ")} msg/s`;
  const template = ours instanceof Error ? (ws instanceof Error ? (socketio instanceof Error ? undefined : socketio) : ws) : ours;
  const rows = (template === undefined ? [] : lines(template)).map((line, i) => {
    const cells: Partial<Row> = {
      ours: perRate(ours, rates, line.ours),
      ws: perRate(ws, rates, line.baseline),
      socketio: perRate(socketio, rates, line.baseline),
    };
    if (i === 0) {
      const values = rates.map((rate) => valueAt(ours, rate, line.ours));
      const ratio = (baseline: Cost | Error, name: string) => `${rates.map((rate, r) => times(values[r]!, valueAt(baseline, rate, line.baseline!))).join(" / ")} ${name}`;
      cells.ratio = `${ratio(ws, "ws")}; ${ratio(socketio, "Socket.IO")}`;
      cells.goal = `≤ ${SERVICE_GOAL_MS} ms at each rate (10 deliveries each): ${values.some((v) => Number.isNaN(v)) ? "not measured" : verdict(values.every((v) => v <= SERVICE_GOAL_MS))}`;
    }
    return row("1", `CPU ms per message sent ${at}: ${line.what}`, cells);
  });
  rows.push(row("1", `CPU ms per second with no load (${idleSeconds} s before the first rate), by part`, { ours: idleCell(ours), ws: idleCell(ws), socketio: idleCell(socketio) }));
  return rows;
}
