/** One aggregate's pending deadline. */
export interface ScheduledTimer<T> {
  readonly partition: number;
  readonly aggregateId: string;
  /** When it is due, epoch milliseconds. */
  readonly dueAt: number;
  readonly value: T;
}

/**
 * The pending deadlines of the aggregates a processor owns: at most one per aggregate (keyed by
 * partition number and aggregate id), earliest first. Pure data, no clock: the caller says what
 * "now" is.
 *
 * An indexed binary min-heap, because a processor may own tens of thousands of aggregates with
 * a deadline (a presence user per open session) and reschedules those a batch touched after
 * every batch: `set`, `delete` and `takeDue` cost O(log n) per timer, `earliest` O(1).
 * `dropPartitions` scans every timer (O(n)); only rebalances call it.
 */
export class TimerSchedule<T> {
  private heap: ScheduledTimer<T>[] = [];
  /** Heap index of each timer, by {@link keyOf}. */
  private readonly positions = new Map<string, number>();

  /** How many timers are pending. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules the aggregate's deadline, replacing the one it had. */
  set(partition: number, aggregateId: string, dueAt: number, value: T): void {
    const timer: ScheduledTimer<T> = { partition, aggregateId, dueAt, value };
    const key = keyOf(partition, aggregateId);
    const position = this.positions.get(key);
    if (position === undefined) {
      this.heap.push(timer);
      this.positions.set(key, this.heap.length - 1);
      this.up(this.heap.length - 1);
      return;
    }
    this.heap[position] = timer;
    this.restore(position);
  }

  /** The aggregate's pending timer, if it has one. */
  get(partition: number, aggregateId: string): ScheduledTimer<T> | undefined {
    const position = this.positions.get(keyOf(partition, aggregateId));
    return position === undefined ? undefined : this.heap[position];
  }

  /** Forgets the aggregate's deadline, if it had one. */
  delete(partition: number, aggregateId: string): void {
    const position = this.positions.get(keyOf(partition, aggregateId));
    if (position !== undefined) this.removeAt(position);
  }

  /** Forgets every deadline of the aggregates of `partitions`. */
  dropPartitions(partitions: Iterable<number>): void {
    const dropped = new Set(partitions);
    if (dropped.size === 0) return;
    const kept = this.heap.filter((timer) => !dropped.has(timer.partition));
    if (kept.length === this.heap.length) return;
    this.heap = kept;
    this.positions.clear();
    this.heap.forEach((timer, index) => this.positions.set(keyOf(timer.partition, timer.aggregateId), index));
    for (let index = (this.heap.length >> 1) - 1; index >= 0; index--) this.down(index);
  }

  clear(): void {
    this.heap.length = 0;
    this.positions.clear();
  }

  /** The earliest deadline; undefined when nothing is pending. */
  earliest(): number | undefined {
    return this.heap[0]?.dueAt;
  }

  /** Removes and returns every timer due at `now` (`dueAt <= now`), earliest first. */
  takeDue(now: number): ScheduledTimer<T>[] {
    const due: ScheduledTimer<T>[] = [];
    while (this.heap.length > 0 && this.heap[0]!.dueAt <= now) {
      due.push(this.heap[0]!);
      this.removeAt(0);
    }
    return due;
  }

  private removeAt(position: number): void {
    const removed = this.heap[position]!;
    this.positions.delete(keyOf(removed.partition, removed.aggregateId));
    const last = this.heap.pop()!;
    if (position === this.heap.length) return;
    this.heap[position] = last;
    this.positions.set(keyOf(last.partition, last.aggregateId), position);
    this.restore(position);
  }

  /** Moves the timer at `position` up or down to where it belongs. */
  private restore(position: number): void {
    if (!this.up(position)) this.down(position);
  }

  /** Returns whether it moved. */
  private up(position: number): boolean {
    let index = position;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.heap[parent]!.dueAt <= this.heap[index]!.dueAt) break;
      this.swap(index, parent);
      index = parent;
    }
    return index !== position;
  }

  private down(position: number): void {
    let index = position;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.heap.length && this.heap[left]!.dueAt < this.heap[smallest]!.dueAt) smallest = left;
      if (right < this.heap.length && this.heap[right]!.dueAt < this.heap[smallest]!.dueAt) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const first = this.heap[a]!;
    const second = this.heap[b]!;
    this.heap[a] = second;
    this.heap[b] = first;
    this.positions.set(keyOf(second.partition, second.aggregateId), a);
    this.positions.set(keyOf(first.partition, first.aggregateId), b);
  }
}

function keyOf(partition: number, aggregateId: string): string {
  return `${partition}\0${aggregateId}`;
}
