import type { PresenceEntries, PresenceMeta } from "./projections/presence/presence-model.js";

/** A presence_diff in Phoenix.Presence form. */
export type PresenceDiff = {
  readonly joins: PresenceEntries;
  readonly leaves: PresenceEntries;
};

/**
 * Diffs accumulated over a batching window, merged into one presence_diff: a meta that joins
 * and leaves within the window appears in neither, and a meta is listed once however often it
 * arrives. Applying the merged diff to a Phoenix.Presence state gives the same state as applying
 * the diffs one by one.
 */
export class DiffAccumulator {
  private joins = new Map<string, Map<string, PresenceMeta>>();
  private leaves = new Map<string, Map<string, PresenceMeta>>();

  get empty(): boolean {
    return this.joins.size === 0 && this.leaves.size === 0;
  }

  add(diff: PresenceDiff): void {
    for (const [key, { metas }] of Object.entries(diff.joins)) {
      for (const meta of metas) metasOf(this.joins, key).set(meta.phx_ref, meta);
    }
    for (const [key, { metas }] of Object.entries(diff.leaves)) {
      for (const meta of metas) {
        const joined = this.joins.get(key);
        if (joined?.delete(meta.phx_ref)) {
          if (joined.size === 0) this.joins.delete(key);
        } else {
          metasOf(this.leaves, key).set(meta.phx_ref, meta);
        }
      }
    }
  }

  /** The merged diff so far; the accumulator starts over empty. */
  take(): PresenceDiff {
    const diff = { joins: entries(this.joins), leaves: entries(this.leaves) };
    this.joins = new Map();
    this.leaves = new Map();
    return diff;
  }
}

function metasOf(side: Map<string, Map<string, PresenceMeta>>, key: string): Map<string, PresenceMeta> {
  let metas = side.get(key);
  if (metas === undefined) side.set(key, (metas = new Map<string, PresenceMeta>()));
  return metas;
}

function entries(side: Map<string, Map<string, PresenceMeta>>): PresenceEntries {
  const result: Record<string, { metas: PresenceMeta[] }> = {};
  for (const [key, metas] of side) result[key] = { metas: [...metas.values()] };
  return result;
}
