import type { PresenceEntries, PresenceMeta, WorkspaceMeta } from "./projections/presence/presence-model.js";

/** A presence_diff in Phoenix.Presence form. */
export type PresenceDiff = {
  readonly joins: PresenceEntries;
  readonly leaves: PresenceEntries;
};

/**
 * Joins and leaves of one workspace merged into one presence_diff, as Phoenix.Presence merges
 * diffs: a meta that joins and leaves within the merge appears in neither, a meta is listed once
 * however often it arrives, and a join loses a `phx_ref_prev` that names a meta nobody saw.
 * Applying the merged diff to a Phoenix.Presence state gives the same state as applying the
 * joins, leaves or diffs one by one. The projection merges the changes of one batch with it; a
 * gateway, the diffs of one batching window.
 */
export class DiffAccumulator {
  /** By `phx_ref`: refs are unique (derived from the position of the event that made them). */
  private joins = new Map<string, WorkspaceMeta>();
  private leaves = new Map<string, WorkspaceMeta>();
  /** Refs that joined and left within the merge: nobody saw them. */
  private unseen = new Set<string>();

  get empty(): boolean {
    return this.joins.size === 0 && this.leaves.size === 0;
  }

  join(entry: WorkspaceMeta): void {
    const prev = entry.meta.phx_ref_prev;
    if (prev !== undefined && this.unseen.has(prev)) {
      const { phx_ref_prev: _unseen, ...meta } = entry.meta;
      entry = { userId: entry.userId, meta };
    }
    this.joins.set(entry.meta.phx_ref, entry);
  }

  leave(entry: WorkspaceMeta): void {
    const ref = entry.meta.phx_ref;
    if (this.joins.delete(ref)) this.unseen.add(ref);
    else this.leaves.set(ref, entry);
  }

  /** Merges a whole diff: its joins, then its leaves. */
  add(diff: PresenceDiff): void {
    for (const [userId, { metas }] of Object.entries(diff.joins)) for (const meta of metas) this.join({ userId, meta });
    for (const [userId, { metas }] of Object.entries(diff.leaves)) for (const meta of metas) this.leave({ userId, meta });
  }

  /** The merged diff so far; the accumulator starts over empty. */
  take(): PresenceDiff {
    const diff = { joins: groupByUser(this.joins.values()), leaves: groupByUser(this.leaves.values()) };
    this.joins = new Map();
    this.leaves = new Map();
    this.unseen = new Set();
    return diff;
  }
}

/** Phoenix.Presence's shape: user id → metas, in the order given. */
export function groupByUser(entries: Iterable<WorkspaceMeta>): PresenceEntries {
  const grouped: Record<string, PresenceMeta[]> = {};
  for (const { userId, meta } of entries) (grouped[userId] ??= []).push(meta);
  return Object.fromEntries(Object.entries(grouped).map(([userId, metas]) => [userId, { metas }]));
}
