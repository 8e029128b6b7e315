import type { HistoryRange } from "./history-port.js";

/** A {@link HistoryRange} with its defaults filled in and its limit clamped to 1..1000. */
export interface NormalizedRange {
  readonly afterSeq: number | undefined;
  readonly beforeSeq: number | undefined;
  readonly limit: number;
  /** True when the newest `limit` messages of the range are wanted (then read descending and reversed). */
  readonly newestFirst: boolean;
}

export const MAX_HISTORY_LIMIT = 1000;

export function normalizeRange(range: HistoryRange): NormalizedRange {
  const limit = Math.min(MAX_HISTORY_LIMIT, Math.max(1, Math.trunc(range.limit) || 1));
  return { afterSeq: range.afterSeq, beforeSeq: range.beforeSeq, limit, newestFirst: range.from === "newest" };
}
