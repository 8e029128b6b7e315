/** The benchmark's one table: rows, cell formats, the machine line, markdown rendering. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import type { Summary } from "./stats.js";

export const COLUMNS = {
  section: "#",
  measure: "measure",
  ours: "QuikChat",
  ws: "bare ws",
  socketio: "Socket.IO",
  kafkajs: "Kafka floor (kafkajs)",
  rdkafka: "Kafka floor (node-rdkafka)",
  ratio: "ours ÷ baseline",
  goal: "goal",
} as const;

export type Column = keyof typeof COLUMNS;
export type Row = Record<Column, string>;

/** A row with every cell not given shown as "—". */
export function row(section: string, measure: string, cells: Partial<Omit<Row, "section" | "measure">>): Row {
  return { section, measure, ours: "—", ws: "—", socketio: "—", kafkajs: "—", rdkafka: "—", ratio: "—", goal: "—", ...cells };
}

/** What a cell says when its measurement failed. */
export const failed = (error: unknown): string => `error: ${(error instanceof Error ? error.message : String(error)).replaceAll("|", "/").replaceAll("\n", " ").slice(0, 160)}`;

export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : String(n));
export const ms = (n: number): string => (Number.isNaN(n) ? "n/a" : n >= 100 ? int(n) : n.toFixed(1));
export const latency = (s: Summary): string => (s.count === 0 ? "no samples" : `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`);
export const times = (ours: number, baseline: number): string => (Number.isFinite(ours / baseline) && baseline > 0 ? `×${(ours / baseline).toFixed(2)}` : "n/a");
export const verdict = (met: boolean | undefined): string => (met === undefined ? "not measured" : met ? "met" : "not met");

/** The machine and the run, as the table's header line says them. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly node: string;
  readonly os: string;
  readonly date: string;
  readonly loadAverageAtStart: readonly number[];
  readonly openFilesLimit: { readonly soft: number; readonly hard: number };
  readonly command: string;
}

/** The soft and hard limits on open files of this process (Linux /proc). */
export function openFilesLimit(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  const value = (text: string | undefined) => (text === undefined || text === "unlimited" ? Infinity : Number(text));
  return { soft: value(line?.[1]), hard: value(line?.[2]) };
}

export function machine(command: string): Machine {
  const nproc = (() => {
    try {
      return Number(execFileSync("nproc", { encoding: "utf8" }).trim());
    } catch {
      return cpus().length;
    }
  })();
  const free = (() => {
    try {
      // `free -g`, as an operator would read it: total GiB on the Mem line.
      return Number(/^Mem:\s+(\d+)/m.exec(execFileSync("free", ["-g"], { encoding: "utf8" }))?.[1]);
    } catch {
      return NaN;
    }
  })();
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: nproc,
    ramGiB: Number.isFinite(free) ? free : Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${type()} ${release()}`,
    date: new Date().toISOString(),
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
    openFilesLimit: openFilesLimit(),
    command,
  };
}

export function machineLine(m: Machine): string {
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os}; open files ${m.openFilesLimit.soft} per process; ` +
    `load average at start ${m.loadAverageAtStart.join(" ")}; ${m.date}; command: ${m.command}`
  );
}

/** The rows as an aligned markdown table (pastable into the README). */
export function renderTable(rows: readonly Row[]): string {
  const columns = Object.keys(COLUMNS) as Column[];
  const lines = [Object.fromEntries(columns.map((c) => [c, COLUMNS[c]])) as Row, ...rows];
  const widths = columns.map((c) => Math.max(3, ...lines.map((line) => line[c].length)));
  const render = (line: Row) => `| ${columns.map((c, i) => line[c].padEnd(widths[i]!)).join(" | ")} |`;
  return [render(lines[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(render)].join("\n");
}
