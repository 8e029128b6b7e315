/** Samples and their summaries, shared by the workers and the report. */
import { performance } from "node:perf_hooks";

/**
 * Epoch milliseconds with microsecond resolution. Processes on one machine share the clock it
 * derives from, so a time taken in one process can be compared with one taken in another (a
 * send stamped by a sender, its delivery by a receiver).
 */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** A growable list of doubles (latencies), cheap to append and to send over IPC. */
export class Samples {
  private data = new Float64Array(1 << 12);
  private length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  get size(): number {
    return this.length;
  }

  /** A copy of the samples so far. */
  values(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/** Count, p50, p99 and max in milliseconds (one decimal); NaN for no samples. */
export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** The summary of every sample in `parts` together. */
export function summarize(parts: readonly Float64Array[]): Summary {
  const all = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  all.sort();
  const at = (p: number) => all[Math.min(all.length - 1, Math.floor((p / 100) * all.length))] ?? NaN;
  return { count: all.length, p50: round(at(50)), p99: round(at(99)), max: round(all.at(-1) ?? NaN) };
}

/** Runs `work` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}
