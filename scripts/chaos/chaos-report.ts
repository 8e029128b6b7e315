/**
 * One row per step of the run: what the step added to the run's findings and whether it passes.
 * The rows are printed as a table, with each step's problems and notes under it, and written as
 * JSON with the run's facts.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { deliveryFaultsSince, NOTHING_WRONG, type DeliveryCheck, type DeliveryTally } from "./delivery-audit.js";
import type { Refusal } from "./message-load.js";
import type { UnexpectedExit } from "./supervised-roles.js";

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

/** What the run counted up to a step; the next step is charged with what it adds. */
export interface RunTally {
  readonly delivery: DeliveryTally;
  readonly refusals: number;
  readonly retries: Readonly<Record<string, number>>;
  readonly exits: number;
}

export const NOTHING_COUNTED: RunTally = { delivery: NOTHING_WRONG, refusals: 0, retries: {}, exits: 0 };

export interface StepTiming {
  readonly recoveryS: number | null;
  readonly allSendersRecoveryS: number | null;
  readonly presenceS: number | null;
  readonly presenceConverged: boolean;
}

/** What a step saw; refusals, exits and retries are the run's so far. */
export interface StepOutcome {
  readonly fault: string;
  readonly check: DeliveryCheck;
  readonly timing: StepTiming;
  /** The step's own problems (recovery, presence, sockets); the check's and the tally's follow them. */
  readonly problems: readonly string[];
  /** Oldest first. */
  readonly refusals: readonly Refusal[];
  readonly exits: readonly UnexpectedExit[];
  readonly retries: Readonly<Record<string, number>>;
  /** Step-specific facts for the JSON, written first. */
  readonly details: Record<string, unknown>;
  readonly timeline: readonly string[];
}

/** The step's row, charged with what `step` adds to `before`, and the tally the next step starts from. */
export function stepRow(before: RunTally, step: StepOutcome): { row: FaultRow; tally: RunTally } {
  const delivery = deliveryFaultsSince(before.delivery, step.check.tally);
  const refusals = step.refusals.slice(before.refusals);
  const exits = step.exits.slice(before.exits);
  const retries: Record<string, number> = {};
  for (const [reason, count] of Object.entries(step.retries)) {
    const added = count - (before.retries[reason] ?? 0);
    if (added > 0) retries[reason] = added;
  }
  const problems = [...step.problems, ...step.check.problems, ...delivery.problems];
  if (refusals.length > 0) problems.push(`${refusals.length} sends refused for good: ${JSON.stringify(refusals.slice(0, 3))}`);
  // A role that crashes on a dependency's outage would stay down without the harness's supervisor: that fails the step.
  for (const exit of exits.filter((e) => e.kind === "crash")) {
    problems.push(`${exit.slot} crashed (exit ${exit.exit}): ${exit.reason}; it came back only because the harness restarts crashed roles (log ${exit.logFile})`);
  }
  const receiversInOrder = step.check.receivers.every((r) => r.inOrder);
  const notes = [
    ...exits.filter((e) => e.kind !== "crash").map((e) => `${e.slot} ${e.kind === "deliberate" ? "shut itself down" : "failed to start"} (exit ${e.exit}): ${e.reason}; restarted by the supervisor (log ${e.logFile})`),
    `retries by reason: ${JSON.stringify(retries)}`,
  ];
  const row: FaultRow = {
    fault: step.fault,
    lost: delivery.lost.length,
    duplicates: { history: delivery.historyDuplicates.length, receivers: delivery.receiverDuplicates },
    ...step.timing,
    receiversInOrder,
    verdict: problems.length === 0 && receiversInOrder && step.timing.presenceConverged ? "survived" : "NOT SURVIVED",
    problems,
    notes,
    details: {
      ...step.details,
      retries,
      unexpectedExits: exits,
      refusals,
      history: step.check.history,
      receivers: step.check.receivers.map(({ user, gateway, target, seen, lastSeq, duplicates, missing, inOrder, joins, unrecovered, restPages, firstDisorder }) => ({
        user,
        gateway,
        target,
        seen,
        lastSeq,
        duplicates,
        missing,
        inOrder,
        joins,
        unrecovered,
        restPages,
        firstDisorder,
      })),
      evidence: step.check.evidence,
      timeline: step.timeline,
    },
  };
  return { row, tally: { delivery: step.check.tally, refusals: step.refusals.length, retries: step.retries, exits: step.exits.length } };
}

/** A run passes when it ran to its end and every step survived. */
export const runSurvived = (rows: readonly FaultRow[], fatal: string | undefined) => fatal === undefined && rows.length > 0 && rows.every((r) => r.verdict === "survived");

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

/** The table, then every step's problems and notes, one a line. */
export function formatReport(rows: readonly FaultRow[]): string {
  const lines = rows.flatMap((r) => [...r.problems.map((problem) => `  ${r.fault}: ${problem}`), ...r.notes.map((line) => `  ${r.fault} (note): ${line}`)]);
  return [`\n${formatTable(rows)}\n`, ...lines].join("\n");
}

export async function writeJson(path: string, report: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
