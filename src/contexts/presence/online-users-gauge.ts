import type { Gauge } from "prom-client";

/** How many workspaces get a `presence_online_users` series of their own, unless configured. */
export const DEFAULT_MAX_WORKSPACE_SERIES = 1_000;

/** The `workspace_id` under which the workspaces beyond the cap are counted together. */
export const OTHER_WORKSPACES = "_other";

/**
 * `presence_online_users{workspace_id}` with a bounded number of series. A workspace has a series
 * only while it has users online: it is removed when its count reaches 0, so series do not pile
 * up for every workspace ever seen. At most `maxSeries` workspaces have one (the first to have
 * users online while there is room); the users of the others are summed under
 * `workspace_id="_other"`, present while that sum is not 0. A workspace counted there gets its
 * own series at its next change after a series is freed.
 */
export class OnlineUsersGauge {
  /** The workspaces with a series of their own. */
  private readonly labelled = new Set<string>();
  /** The counts of the workspaces summed under {@link OTHER_WORKSPACES}, and their sum. */
  private readonly others = new Map<string, number>();
  private othersTotal = 0;

  constructor(
    private readonly gauge: Gauge<"workspace_id">,
    private readonly maxSeries: number,
  ) {}

  /** Records that `workspaceId` has `count` users online. */
  set(workspaceId: string, count: number): void {
    if (this.labelled.has(workspaceId)) {
      if (count > 0) {
        this.gauge.set({ workspace_id: workspaceId }, count);
      } else {
        this.gauge.remove({ workspace_id: workspaceId });
        this.labelled.delete(workspaceId);
      }
      return;
    }
    const before = this.others.get(workspaceId) ?? 0;
    if (count > 0 && this.labelled.size < this.maxSeries) {
      this.labelled.add(workspaceId);
      this.gauge.set({ workspace_id: workspaceId }, count);
      this.count(workspaceId, before, 0);
    } else {
      this.count(workspaceId, before, count);
    }
  }

  private count(workspaceId: string, before: number, after: number): void {
    if (before === after) return;
    if (after > 0) this.others.set(workspaceId, after);
    else this.others.delete(workspaceId);
    this.othersTotal += after - before;
    if (this.othersTotal > 0) this.gauge.set({ workspace_id: OTHER_WORKSPACES }, this.othersTotal);
    else this.gauge.remove({ workspace_id: OTHER_WORKSPACES });
  }
}
