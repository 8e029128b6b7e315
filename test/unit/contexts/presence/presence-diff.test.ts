import { Presence } from "phoenix";
import { describe, expect, it } from "vitest";
import { DiffAccumulator, type PresenceDiff } from "../../../../src/contexts/presence/presence-diff.js";
import type { PresenceMeta } from "../../../../src/contexts/presence/projections/presence/presence-model.js";

const meta = (ref: string, extra: Partial<PresenceMeta> = {}): PresenceMeta => ({
  phx_ref: ref,
  connection_id: `c-${ref}`,
  device: null,
  platform: "web",
  status: "online",
  status_text: null,
  online_at: 1,
  ...extra,
});
const diff = (joins: Record<string, PresenceMeta[]>, leaves: Record<string, PresenceMeta[]> = {}): PresenceDiff => ({
  joins: Object.fromEntries(Object.entries(joins).map(([key, metas]) => [key, { metas }])),
  leaves: Object.fromEntries(Object.entries(leaves).map(([key, metas]) => [key, { metas }])),
});

type State = Record<string, { metas: { phx_ref: string }[] }>;
/** The stock client's own diff algorithm (a static that calls other statics of its class). */
const syncDiff = (state: State, diff: PresenceDiff): State => {
  const result: unknown = Presence.syncDiff(state, diff);
  return result as State;
};
const applyAll = (state: State, diffs: readonly PresenceDiff[]): State =>
  diffs.reduce((current, next) => syncDiff(structuredClone(current), structuredClone(next)), state);
const refs = (state: State): Record<string, string[]> => {
  const result: Record<string, string[]> = {};
  for (const [key, { metas }] of Object.entries(state)) if (metas.length > 0) result[key] = metas.map((m) => m.phx_ref).sort();
  return result;
};

describe("merging presence diffs over a window", () => {
  it("drops a meta that joined and left within the window", () => {
    const merged = new DiffAccumulator();
    merged.add(diff({ u1: [meta("a")] }));
    merged.add(diff({}, { u1: [meta("a")] }));
    expect(merged.empty).toBe(true);
  });

  it("keeps a leave of a meta joined before the window, and an update as leave + join", () => {
    const merged = new DiffAccumulator();
    merged.add(diff({ u1: [meta("b", { phx_ref_prev: "a", status: "away" })] }, { u1: [meta("a")] }));
    const taken = merged.take();
    expect(taken.leaves.u1?.metas.map((m) => m.phx_ref)).toEqual(["a"]);
    expect(taken.joins.u1?.metas.map((m) => m.phx_ref)).toEqual(["b"]);
    expect(merged.empty).toBe(true);
  });

  it("gives the stock Presence client the same state as the diffs one by one", () => {
    // A seeded walk over joins, updates and leaves of a few users and devices.
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const live = new Map<string, string>(); // connection → current ref
    let counter = 0;
    let state: State = {};
    for (let round = 0; round < 50; round++) {
      const diffs: PresenceDiff[] = [];
      for (let step = 0; step < 1 + Math.floor(random() * 8); step++) {
        const user = `u${Math.floor(random() * 4)}`;
        const connection = `${user}:${Math.floor(random() * 3)}`;
        const current = live.get(connection);
        const ref = `r${counter++}`;
        if (current === undefined) {
          live.set(connection, ref);
          diffs.push(diff({ [user]: [meta(ref)] }));
        } else if (random() < 0.5) {
          live.delete(connection);
          diffs.push(diff({}, { [user]: [meta(current)] }));
        } else {
          live.set(connection, ref);
          diffs.push(diff({ [user]: [meta(ref, { phx_ref_prev: current })] }, { [user]: [meta(current)] }));
        }
      }
      const oneByOne = applyAll(state, diffs);
      const accumulator = new DiffAccumulator();
      for (const d of diffs) accumulator.add(d);
      const merged = applyAll(state, [accumulator.take()]);
      expect(refs(merged)).toEqual(refs(oneByOne));
      state = oneByOne;
    }
  });
});
