import { describe, expect, it } from "vitest";
import { TimerSchedule } from "../../../../src/platform/processor/timer-schedule.js";

const ids = (timers: readonly { aggregateId: string }[]): string[] => timers.map((timer) => timer.aggregateId);

describe("the timer schedule", () => {
  describe("when nothing is scheduled", () => {
    it("has no earliest deadline and nothing due", () => {
      const schedule = new TimerSchedule<string>();
      expect(schedule.earliest()).toBeUndefined();
      expect(schedule.takeDue(Number.MAX_SAFE_INTEGER)).toEqual([]);
      expect(schedule.size).toBe(0);
    });
  });

  describe("when several aggregates have deadlines", () => {
    const schedule = (): TimerSchedule<string> => {
      const timers = new TimerSchedule<string>();
      timers.set(0, "a", 300, "A");
      timers.set(1, "b", 100, "B");
      timers.set(0, "c", 200, "C");
      timers.set(2, "d", 400, "D");
      return timers;
    };

    it("names the earliest deadline", () => {
      expect(schedule().earliest()).toBe(100);
    });

    it("hands out exactly the due timers, earliest first, and forgets them", () => {
      const timers = schedule();
      expect(timers.takeDue(99)).toEqual([]);
      const due = timers.takeDue(300);
      expect(due).toEqual([
        { partition: 1, aggregateId: "b", dueAt: 100, value: "B" },
        { partition: 0, aggregateId: "c", dueAt: 200, value: "C" },
        { partition: 0, aggregateId: "a", dueAt: 300, value: "A" },
      ]);
      expect(timers.takeDue(300)).toEqual([]);
      expect(timers.earliest()).toBe(400);
    });

    it("keeps one timer per aggregate: setting again reschedules it", () => {
      const timers = schedule();
      timers.set(1, "b", 500, "B2");
      expect(timers.size).toBe(4);
      expect(timers.earliest()).toBe(200);
      expect(timers.get(1, "b")).toMatchObject({ dueAt: 500, value: "B2" });
      timers.set(2, "d", 50, "D2");
      expect(ids(timers.takeDue(1_000))).toEqual(["d", "c", "a", "b"]);
    });

    it("tells the same aggregate id on different partitions apart", () => {
      const timers = schedule();
      timers.set(3, "a", 10, "A3");
      expect(timers.size).toBe(5);
      expect(timers.takeDue(10)).toEqual([{ partition: 3, aggregateId: "a", dueAt: 10, value: "A3" }]);
      expect(timers.get(0, "a")).toMatchObject({ dueAt: 300 });
    });

    it("forgets a deleted timer", () => {
      const timers = schedule();
      timers.delete(1, "b");
      timers.delete(1, "unknown");
      expect(timers.earliest()).toBe(200);
      expect(ids(timers.takeDue(1_000))).toEqual(["c", "a", "d"]);
    });

    it("drops every timer of revoked partitions and keeps the others in order", () => {
      const timers = schedule();
      timers.dropPartitions([0]);
      expect(timers.size).toBe(2);
      expect(timers.get(0, "a")).toBeUndefined();
      expect(ids(timers.takeDue(1_000))).toEqual(["b", "d"]);
    });

    it("forgets everything when cleared", () => {
      const timers = schedule();
      timers.clear();
      expect(timers.size).toBe(0);
      expect(timers.earliest()).toBeUndefined();
    });
  });

  describe("when tens of thousands of aggregates have deadlines", () => {
    it("hands them out in deadline order through any mix of reschedules, deletions and revocations", () => {
      const timers = new TimerSchedule<number>();
      // A deterministic pseudo-random sequence (LCG), so a failure reproduces.
      let seed = 42;
      const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      const expected = new Map<string, { partition: number; dueAt: number }>();
      for (let i = 0; i < 50_000; i++) {
        const partition = i % 8;
        const dueAt = Math.floor(random() * 1_000_000);
        timers.set(partition, `u${i}`, dueAt, i);
        expected.set(`u${i}`, { partition, dueAt });
      }
      for (let i = 0; i < 20_000; i++) {
        const id = `u${Math.floor(random() * 50_000)}`;
        const entry = expected.get(id);
        if (entry === undefined) continue;
        if (random() < 0.3) {
          timers.delete(entry.partition, id);
          expected.delete(id);
        } else {
          const dueAt = Math.floor(random() * 1_000_000);
          timers.set(entry.partition, id, dueAt, 0);
          expected.set(id, { partition: entry.partition, dueAt });
        }
      }
      timers.dropPartitions([3, 5]);
      for (const [id, { partition }] of expected) if (partition === 3 || partition === 5) expected.delete(id);

      expect(timers.size).toBe(expected.size);
      const first = timers.takeDue(500_000);
      const rest = timers.takeDue(Number.MAX_SAFE_INTEGER);
      const dueAts = [...first, ...rest].map((timer) => timer.dueAt);
      expect(dueAts).toEqual([...expected.values()].map((entry) => entry.dueAt).sort((a, b) => a - b));
      expect(first.every((timer) => timer.dueAt <= 500_000)).toBe(true);
      expect(rest.every((timer) => timer.dueAt > 500_000)).toBe(true);
      expect(timers.size).toBe(0);
    });
  });
});
