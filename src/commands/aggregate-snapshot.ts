import type { CommandOutcome } from "./command-outcome.js";

/**
 * How many outcomes an aggregate remembers to answer retried commands: the newest `maxEntries`
 * outcomes whose `issuedAt` lies within `maxAgeMs` of the newest command the aggregate has
 * seen (command time, not wall-clock time, so a replay prunes identically). A retry that
 * arrives after its outcome left the window is decided again.
 */
export interface DedupeWindow {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
}

/** 500 outcomes or 24 hours per aggregate, whichever is smaller. */
export const DEFAULT_DEDUPE_WINDOW: DedupeWindow = Object.freeze({ maxEntries: 500, maxAgeMs: 24 * 60 * 60 * 1000 });

/** One remembered outcome. */
export interface RememberedOutcome {
  readonly issuedAt: number;
  readonly outcome: CommandOutcome;
}

/**
 * What the processor keeps per aggregate, in memory and in the compacted changelog
 * `quikapp.<context>.state` (key: the aggregate id).
 */
export interface AggregateSnapshot<S> {
  /** Number of events applied to the aggregate. */
  readonly version: number;
  readonly state: S;
  /** Oldest first; bounded by the {@link DedupeWindow}. */
  readonly outcomes: readonly RememberedOutcome[];
}

/** Changelog values are internal: JSON, with a format number so that a later layout can be told apart. */
const FORMAT = 1;

interface StoredSnapshot {
  readonly format: number;
  readonly version: number;
  readonly state: unknown;
  readonly outcomes: readonly RememberedOutcome[];
}

/** A changelog value that is not a snapshot this code can read. */
export class SnapshotFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SnapshotFormatError";
  }
}

/** The changelog value of a snapshot. */
export function encodeSnapshot<S>(snapshot: AggregateSnapshot<S>): Buffer {
  const stored: StoredSnapshot = { format: FORMAT, version: snapshot.version, state: snapshot.state, outcomes: snapshot.outcomes };
  return Buffer.from(JSON.stringify(stored));
}

/** Reads a changelog value; throws {@link SnapshotFormatError} for anything it did not write. */
export function decodeSnapshot<S>(value: Buffer): AggregateSnapshot<S> {
  let stored: Partial<StoredSnapshot>;
  try {
    stored = JSON.parse(value.toString("utf8")) as Partial<StoredSnapshot>;
  } catch (error) {
    throw new SnapshotFormatError("changelog value is not JSON", { cause: error });
  }
  if (stored.format !== FORMAT || typeof stored.version !== "number" || !Array.isArray(stored.outcomes)) {
    throw new SnapshotFormatError(`changelog value is not a format ${FORMAT} snapshot`);
  }
  return { version: stored.version, state: stored.state as S, outcomes: stored.outcomes };
}

/** The remembered outcome of `commandId`, if it is still in the window. */
export function rememberedOutcome<S>(snapshot: AggregateSnapshot<S>, commandId: string): CommandOutcome | undefined {
  for (let i = snapshot.outcomes.length - 1; i >= 0; i--) {
    const entry = snapshot.outcomes[i];
    if (entry?.outcome.commandId === commandId) return entry.outcome;
  }
  return undefined;
}

/** `outcomes` plus `entry`, pruned to the window. Pure. */
export function remember(
  outcomes: readonly RememberedOutcome[],
  entry: RememberedOutcome,
  window: DedupeWindow,
): RememberedOutcome[] {
  const all = [...outcomes, entry];
  const newest = all.reduce((latest, { issuedAt }) => Math.max(latest, issuedAt), entry.issuedAt);
  const kept = all.filter(({ issuedAt }) => issuedAt >= newest - window.maxAgeMs);
  return kept.slice(Math.max(0, kept.length - window.maxEntries));
}
