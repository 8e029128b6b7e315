import type { CommandOutcome } from "./command-outcome.js";

/**
 * How many outcomes an aggregate remembers to answer retried commands: at least the newest
 * `maxEntries` outcomes whose `issuedAt` lies within `maxAgeMs` of the newest command the
 * aggregate has seen (command time, not wall-clock time, so a replay prunes identically).
 * Outcomes are forgotten a generation (a tenth of `maxEntries`) at a time, so up to a
 * generation more may be remembered. A retry that arrives after its outcome left the window is
 * decided again.
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
 * Remembered outcomes in generations, oldest first. A new outcome copies only the newest
 * generation; the others are shared unchanged from snapshot to snapshot, so the changelog
 * stores each once (see `ChangelogCodec`).
 */
export type RememberedOutcomes = readonly (readonly RememberedOutcome[])[];

/**
 * What the processor keeps per aggregate, in memory and in the compacted changelog
 * `quikapp.<context>.state` (key: the aggregate id).
 */
export interface AggregateSnapshot<S> {
  /** Number of events applied to the aggregate. */
  readonly version: number;
  readonly state: S;
  /** Oldest first; bounded by the {@link DedupeWindow}. */
  readonly outcomes: RememberedOutcomes;
}

/**
 * Changelog values are internal: JSON, with a format number so that a later layout can be told
 * apart. Format 2 adds `nextPart` and may hold references `{"$part": "<id>"}` to parts stored as
 * records of their own (see `ChangelogCodec`); format 1 (whole snapshots) is still read.
 */
const FORMAT = 2;
const READABLE_FORMATS = new Set([1, 2]);
const PART = "$part";

interface StoredSnapshot {
  readonly format: number;
  readonly version: number;
  readonly state: unknown;
  /** Generations (format 2); format 1 stored one flat list. */
  readonly outcomes: RememberedOutcomes | readonly RememberedOutcome[];
  readonly nextPart?: number;
}

/** A changelog value that is not a snapshot this code can read. */
export class SnapshotFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SnapshotFormatError";
  }
}

/** Parts stored apart from a snapshot: the id each part object is stored under, and the next free id. */
export interface SnapshotParts {
  readonly ids: ReadonlyMap<object, string>;
  readonly nextPart: number;
}

/** The changelog value of a snapshot; each object of `parts` in its state is written as a reference. */
export function encodeSnapshot<S>(snapshot: AggregateSnapshot<S>, parts?: SnapshotParts): Buffer {
  const stored: StoredSnapshot = { format: FORMAT, version: snapshot.version, state: snapshot.state, outcomes: snapshot.outcomes, nextPart: parts?.nextPart ?? 0 };
  const ids = parts?.ids;
  const json =
    ids === undefined || ids.size === 0
      ? JSON.stringify(stored)
      : JSON.stringify(stored, (_key, field: unknown) => (typeof field === "object" && field !== null && ids.has(field) ? { [PART]: ids.get(field) } : field));
  return Buffer.from(json);
}

/**
 * Reads a changelog value; `resolve` supplies the part a reference names. Throws
 * {@link SnapshotFormatError} for anything it did not write, or a reference it cannot resolve.
 */
export function decodeSnapshot<S>(value: Buffer, resolve?: (partId: string) => object): { snapshot: AggregateSnapshot<S>; nextPart: number } {
  let stored: Partial<StoredSnapshot>;
  try {
    stored = JSON.parse(value.toString("utf8"), (_key, field: unknown) => (isReference(field) ? resolvePart(field[PART], resolve) : field)) as Partial<StoredSnapshot>;
  } catch (error) {
    if (error instanceof SnapshotFormatError) throw error;
    throw new SnapshotFormatError("changelog value is not JSON", { cause: error });
  }
  if (!READABLE_FORMATS.has(stored.format ?? 0) || typeof stored.version !== "number" || !Array.isArray(stored.outcomes)) {
    throw new SnapshotFormatError(`changelog value is not a format ${[...READABLE_FORMATS].join(" or ")} snapshot`);
  }
  return { snapshot: { version: stored.version, state: stored.state as S, outcomes: generations(stored.outcomes) }, nextPart: stored.nextPart ?? 0 };
}

/** Format 1's flat list as one generation. */
function generations(outcomes: RememberedOutcomes | readonly RememberedOutcome[]): RememberedOutcomes {
  if (outcomes.length === 0 || Array.isArray(outcomes[0])) return outcomes as RememberedOutcomes;
  return [outcomes as readonly RememberedOutcome[]];
}

/** `{"$part": id}` and nothing else: domain state never has such an object (ids, cursors and entries are not strings under "$part" alone). */
function isReference(value: unknown): value is { [PART]: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === PART && typeof (value as Record<string, unknown>)[PART] === "string";
}

function resolvePart(partId: string, resolve: ((partId: string) => object) | undefined): object {
  if (resolve === undefined) throw new SnapshotFormatError(`snapshot refers to part ${partId}, which is stored apart`);
  return resolve(partId);
}

/** The remembered outcome of `commandId`, if it is still in the window. */
export function rememberedOutcome<S>(snapshot: AggregateSnapshot<S>, commandId: string): CommandOutcome | undefined {
  for (let g = snapshot.outcomes.length - 1; g >= 0; g--) {
    const generation = snapshot.outcomes[g]!;
    for (let i = generation.length - 1; i >= 0; i--) {
      if (generation[i]!.outcome.commandId === commandId) return generation[i]!.outcome;
    }
  }
  return undefined;
}

/**
 * `outcomes` plus `entry`, pruned to the window. Pure. An entry already older than the window
 * (a late command) is not remembered; a generation goes once all its entries are too old, or
 * once the others hold `maxEntries` without it.
 */
export function remember(outcomes: RememberedOutcomes, entry: RememberedOutcome, window: DedupeWindow): RememberedOutcomes {
  let newest = entry.issuedAt;
  for (const generation of outcomes) for (const { issuedAt } of generation) newest = Math.max(newest, issuedAt);
  const cutoff = newest - window.maxAgeMs;
  if (entry.issuedAt < cutoff) return outcomes;
  const size = Math.max(1, Math.floor(window.maxEntries / 10));
  const last = outcomes.at(-1);
  const appended = last !== undefined && last.length < size ? [...outcomes.slice(0, -1), [...last, entry]] : [...outcomes, [entry]];
  const kept = appended.filter((generation) => generation.some(({ issuedAt }) => issuedAt >= cutoff));
  let total = kept.reduce((sum, generation) => sum + generation.length, 0);
  let first = 0;
  while (first < kept.length - 1 && total - kept[first]!.length >= window.maxEntries) total -= kept[first++]!.length;
  return first === 0 ? kept : kept.slice(first);
}
