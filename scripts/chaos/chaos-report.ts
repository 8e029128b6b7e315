/** One row per fault, printed as a table and written as JSON. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface FaultRow {
  readonly fault: string;
  /** Acknowledged messages absent from history, or at another seq/id than acknowledged, newly found at this step. */
  readonly lost: number;
  /** New duplicates: in history (a clientMsgId or seq twice) and at receivers (a seq shown twice). */
  readonly duplicates: { readonly history: number; readonly receivers: number };
  /** Fault injected → first acknowledged send pushed after it; → every sender acknowledged again. */
  readonly recoveryS: number | null;
  readonly allSendersRecoveryS: number | null;
  /** Fault injected → the watcher and REST both list exactly the connected users. */
  readonly presenceS: number | null;
  readonly presenceConverged: boolean;
  /** Every receiver holds exactly 1..N in order (N = the conversation's last acknowledged seq). */
  readonly receiversInOrder: boolean;
  readonly verdict: "survived" | "NOT SURVIVED";
  /** Why not survived, and what else is worth knowing. */
  readonly problems: readonly string[];
  readonly notes: readonly string[];
  readonly details: Record<string, unknown>;
}

const seconds = (s: number | null) => (s === null ? "—" : s.toFixed(1));

export function formatTable(rows: readonly FaultRow[]): string {
  const header = ["fault", "lost", "duplicates (history/receivers)", "recovery s (first ack / all senders)", "presence s", "presence converged", "receivers in order", "verdict"];
  const lines = rows.map((row) => [
    row.fault,
    String(row.lost),
    `${row.duplicates.history} / ${row.duplicates.receivers}`,
    `${seconds(row.recoveryS)} / ${seconds(row.allSendersRecoveryS)}`,
    seconds(row.presenceS),
    row.presenceConverged ? "yes" : "NO",
    row.receiversInOrder ? "yes" : "NO",
    row.verdict,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  return [format(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...lines.map(format)].join("\n");
}

export async function writeJson(path: string, report: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
