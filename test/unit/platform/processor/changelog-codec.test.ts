import { describe, expect, it } from "vitest";
import { SnapshotFormatError, type AggregateSnapshot } from "../../../../src/platform/processor/aggregate-snapshot.js";
import { ChangelogCodec, readChangelogRecord } from "../../../../src/platform/processor/changelog-codec.js";

/** A state shaped like a conversation's: generations shared by reference, the last one changing. */
interface State {
  readonly generations: readonly Readonly<Record<string, number>>[];
  readonly cursor: number;
}

const snapshot = (state: State, version = 1): AggregateSnapshot<State> => ({ version, state, outcomes: [] });
const codec = () => new ChangelogCodec<State>((state) => state.generations.slice(0, -1));
const keys = (records: readonly { key: string; value: Buffer | null }[]) =>
  records.map(({ key, value }) => `${key.replace("\u0000", "#")}${value === null ? " (tombstone)" : ""}`);

/** What a compacted changelog keeps: the latest value per key, tombstones removing it. */
function compact(log: readonly { key: string; value: Buffer | null }[]): Map<string, Buffer> {
  const latest = new Map<string, Buffer>();
  for (const { key, value } of log) {
    if (value === null) latest.delete(key);
    else latest.set(key, value);
  }
  return latest;
}

describe("the changelog codec", () => {
  const g0 = { a: 1, b: 2 };
  const g1 = { c: 3 };
  const g2 = { d: 4 };

  it("writes a shared piece once, and only the aggregate's record while the piece is unchanged", () => {
    const writer = codec();
    const first = writer.records(0, "c1", snapshot({ generations: [g0, g1], cursor: 1 }));
    expect(keys(first.records)).toEqual(["c1#0", "c1"]);
    first.commit();
    const second = writer.records(0, "c1", snapshot({ generations: [g0, g1], cursor: 2 }, 2));
    expect(keys(second.records)).toEqual(["c1"]);
    second.commit();
    // g1 is no longer the newest generation: it becomes a piece of its own.
    const third = writer.records(0, "c1", snapshot({ generations: [g0, g1, g2], cursor: 2 }, 3));
    expect(keys(third.records)).toEqual(["c1#1", "c1"]);
  });

  it("tombstones a piece the state dropped, and every piece of a deleted aggregate", () => {
    const writer = codec();
    const first = writer.records(0, "c1", snapshot({ generations: [g0, g1, g2], cursor: 1 }));
    first.commit();
    const edited = { ...g0, a: 9 };
    const second = writer.records(0, "c1", snapshot({ generations: [edited, g1, g2], cursor: 1 }, 2));
    expect(keys(second.records)).toEqual(["c1#2", "c1#0 (tombstone)", "c1"]);
    second.commit();
    expect(keys(writer.records(0, "c1", undefined).records)).toEqual(["c1#2 (tombstone)", "c1#1 (tombstone)", "c1 (tombstone)"]);
  });

  it("writes the pieces again after a transaction that did not commit", () => {
    const writer = codec();
    writer.records(0, "c1", snapshot({ generations: [g0, g1], cursor: 1 })); // aborted: no commit
    expect(keys(writer.records(0, "c1", snapshot({ generations: [g0, g1], cursor: 1 })).records)).toEqual(["c1#0", "c1"]);
  });

  it("restores from the compacted log what was written, and goes on without rewriting its pieces", () => {
    const writer = codec();
    const log: { key: string; value: Buffer | null }[] = [];
    const states: State[] = [
      { generations: [g0], cursor: 1 },
      { generations: [g0, g1], cursor: 2 },
      { generations: [g0, g1, g2], cursor: 3 },
      { generations: [{ ...g0, a: 7 }, g1, g2], cursor: 4 },
    ];
    states.forEach((state, i) => {
      const { records, commit } = writer.records(3, "c1", snapshot(state, i + 1));
      log.push(...records);
      commit();
    });
    const other = writer.records(3, "c2", snapshot({ generations: [g1], cursor: 0 }));
    log.push(...other.records);

    const reader = codec();
    const restored = reader.restore(3, compact(log));
    expect(restored.get("c1")).toEqual(snapshot(states[3]!, 4));
    expect(restored.get("c2")).toEqual(snapshot({ generations: [g1], cursor: 0 }));
    // The restored pieces are known as written: a new cursor rewrites the record only.
    const next = restored.get("c1")!;
    expect(keys(reader.records(3, "c1", snapshot({ ...next.state, cursor: 5 }, 5)).records)).toEqual(["c1"]);
  });

  it("refuses a record that refers to a piece the log lacks", () => {
    const writer = codec();
    const log = [...writer.records(0, "c1", snapshot({ generations: [g0, g1], cursor: 1 })).records];
    const latest = compact(log);
    latest.delete("c1\u00000");
    expect(() => codec().restore(0, latest)).toThrow(SnapshotFormatError);
  });

  it("reads each record on its own for the operator tools: a snapshot with its references, a part, tombstones", () => {
    const writer = codec();
    const written = writer.records(0, "c1", snapshot({ generations: [g0, g1], cursor: 1 }, 4));
    written.commit();
    const [part, head] = written.records.map(({ key, value }) => readChangelogRecord(key, value));
    expect(part).toEqual({ fullName: "quikchat.changelog.SnapshotPart", value: { aggregateId: "c1", partId: "0", part: g0 } });
    expect(head).toEqual({ fullName: "quikchat.changelog.Snapshot", value: { aggregateId: "c1", version: 4, state: { generations: [{ $part: "0" }, g1], cursor: 1 }, outcomes: [] } });
    const deleted = writer.records(0, "c1", undefined).records.map(({ key, value }) => readChangelogRecord(key, value));
    expect(deleted).toEqual([
      { fullName: "quikchat.changelog.Tombstone", value: { aggregateId: "c1", partId: "0" } },
      { fullName: "quikchat.changelog.Tombstone", value: { aggregateId: "c1" } },
    ]);
    expect(() => readChangelogRecord("c1", Buffer.from("not json"))).toThrow(SnapshotFormatError);
    expect(() => readChangelogRecord(null, Buffer.from("{}"))).toThrow(SnapshotFormatError);
  });
});
