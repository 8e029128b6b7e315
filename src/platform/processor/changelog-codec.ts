import { decodeSnapshot, encodeSnapshot, SnapshotFormatError, type AggregateSnapshot } from "./aggregate-snapshot.js";

/**
 * Writes aggregate snapshots to the compacted changelog in parts, so that a batch writes what
 * changed rather than every touched aggregate whole.
 *
 * A definition may name large, immutable pieces of its state (`snapshotParts`: for a
 * conversation, its generations of remembered messages, shared unchanged from one state to the
 * next), and the runtime adds the older generations of remembered outcomes. Each piece is
 * stored once as its own record, key `<aggregate id>\u0000<part id>`, and
 * the aggregate's record (key: its id; the "head") refers to it as `{"$part": "<part id>"}`. A
 * later snapshot that still holds the same piece (the same object) only refers to it again; a
 * piece the state no longer holds gets a tombstone, so compaction drops it. Heads without parts
 * are the plain snapshots the runtime always wrote, and still read.
 *
 * What was written is remembered per aggregate only once the transaction carrying it commits
 * (`commit` of {@link SnapshotRecords}); after an abort the next batch writes the pieces again.
 */
export interface SnapshotRecords {
  readonly records: readonly { readonly key: string; readonly value: Buffer | null }[];
  /** Records the parts as written; call once the transaction carrying `records` committed. */
  readonly commit: () => void;
}

/** The parts written for one aggregate: which object is stored under which part id. */
interface WrittenParts {
  readonly ids: ReadonlyMap<object, string>;
  readonly nextId: number;
}

const SEPARATOR = "\u0000";
/** A generation of remembered outcomes is stored apart once it holds this many. */
const MIN_OUTCOMES_PER_PART = 20;

const partKey = (aggregateId: string, partId: string): string => `${aggregateId}${SEPARATOR}${partId}`;

/** The record names the operator tools give changelog records (they are JSON, not Avro records of the contract). */
export const CHANGELOG_RECORDS = { snapshot: "quikchat.changelog.Snapshot", part: "quikchat.changelog.SnapshotPart", tombstone: "quikchat.changelog.Tombstone" } as const;

/** One changelog record as an operator reads it: which aggregate (and part) it is, and what it holds. */
export interface ChangelogEntry {
  readonly fullName: (typeof CHANGELOG_RECORDS)[keyof typeof CHANGELOG_RECORDS];
  /**
   * A snapshot: `{aggregateId, version, state, outcomes}`, a piece it shares with others still
   * written as `{"$part": "<part id>"}`; a part: `{aggregateId, partId, part}`; a tombstone:
   * `{aggregateId}` (and `partId` for a part's).
   */
  readonly value: Readonly<Record<string, unknown>>;
}

/**
 * Reads one record of a changelog on its own (a head, a part or a tombstone), without the other
 * records of its aggregate: references to parts stay references. Throws
 * {@link SnapshotFormatError} for a key or value this codec did not write.
 */
export function readChangelogRecord(key: string | null, value: Buffer | null): ChangelogEntry {
  if (key === null) throw new SnapshotFormatError("changelog record without a key");
  const separator = key.indexOf(SEPARATOR);
  const aggregateId = separator < 0 ? key : key.slice(0, separator);
  const partId = separator < 0 ? undefined : key.slice(separator + 1);
  const ids = partId === undefined ? { aggregateId } : { aggregateId, partId };
  if (value === null) return { fullName: CHANGELOG_RECORDS.tombstone, value: ids };
  if (partId !== undefined) return { fullName: CHANGELOG_RECORDS.part, value: { ...ids, part: parsePart(aggregateId, partId, value) } };
  const { snapshot } = decodeSnapshot(value, (id) => ({ $part: id }));
  return { fullName: CHANGELOG_RECORDS.snapshot, value: { aggregateId, version: snapshot.version, state: snapshot.state, outcomes: snapshot.outcomes } };
}

/** A part's stored value; a {@link SnapshotFormatError} when it is not JSON. */
function parsePart(aggregateId: string, partId: string, value: Buffer): object {
  try {
    return JSON.parse(value.toString("utf8")) as object;
  } catch (error) {
    throw new SnapshotFormatError(`part ${partId} of ${aggregateId} is not JSON`, { cause: error });
  }
}

export class ChangelogCodec<S> {
  /** Partition → aggregate id → the parts committed to the changelog. */
  private readonly written = new Map<number, Map<string, WrittenParts>>();

  /** `partsOf`: the large immutable pieces of a state to store separately (none by default). */
  constructor(private readonly partsOf: (state: S) => readonly object[] = () => []) {}

  /** The records that take aggregate `id` of `partition` from what was committed to `snapshot` (undefined: deleted). */
  records(partition: number, id: string, snapshot: AggregateSnapshot<S> | undefined): SnapshotRecords {
    let aggregates = this.written.get(partition);
    if (aggregates === undefined) this.written.set(partition, (aggregates = new Map<string, WrittenParts>()));
    const before = aggregates.get(id);
    const records: { key: string; value: Buffer | null }[] = [];
    if (snapshot === undefined) {
      for (const partId of before?.ids.values() ?? []) records.push({ key: partKey(id, partId), value: null });
      records.push({ key: id, value: null });
      return { records, commit: () => aggregates.delete(id) };
    }
    const ids = new Map<object, string>();
    let nextId = before?.nextId ?? 0;
    // The older generations of remembered outcomes are shared like the definition's pieces
    // (those of small windows stay inline: a record each would cost more than it saves).
    const outcomeParts = snapshot.outcomes.slice(0, -1).filter((generation) => generation.length >= MIN_OUTCOMES_PER_PART);
    for (const part of [...this.partsOf(snapshot.state), ...outcomeParts]) {
      if (ids.has(part)) continue;
      let partId = before?.ids.get(part);
      if (partId === undefined) {
        partId = String(nextId++);
        records.push({ key: partKey(id, partId), value: Buffer.from(JSON.stringify(part)) });
      }
      ids.set(part, partId);
    }
    for (const [part, partId] of before?.ids ?? []) {
      if (!ids.has(part)) records.push({ key: partKey(id, partId), value: null });
    }
    records.push({ key: id, value: encodeSnapshot(snapshot, { ids, nextPart: nextId }) });
    return { records, commit: () => aggregates.set(id, { ids, nextId }) };
  }

  /**
   * The snapshots of one partition from its changelog's latest value per key (tombstones already
   * applied), remembering their parts as written. Throws {@link SnapshotFormatError} for a value
   * it cannot read or a reference to a missing part.
   */
  restore(partition: number, latest: ReadonlyMap<string, Buffer>): Map<string, AggregateSnapshot<S>> {
    const snapshots = new Map<string, AggregateSnapshot<S>>();
    const aggregates = new Map<string, WrittenParts>();
    for (const [key, value] of latest) {
      if (key.includes(SEPARATOR)) continue;
      const ids = new Map<object, string>();
      const { snapshot, nextPart } = decodeSnapshot<S>(value, (partId) => {
        const stored = latest.get(partKey(key, partId));
        if (stored === undefined) throw new SnapshotFormatError(`snapshot of ${key} refers to missing part ${partId}`);
        const part = parsePart(key, partId, stored);
        ids.set(part, partId);
        return part;
      });
      snapshots.set(key, snapshot);
      aggregates.set(key, { ids, nextId: nextPart });
    }
    this.written.set(partition, aggregates);
    return snapshots;
  }

  /** Forgets revoked partitions. */
  forget(partitions: readonly number[]): void {
    for (const partition of partitions) this.written.delete(partition);
  }
}
