import { describe, expect, it } from "vitest";
import { processUse, threadKind } from "../../../../scripts/bench/cpu-meter.js";
import type { ProcessCpu } from "../../../../scripts/bench/proc-stat.js";

describe("the CPU of a process over a window", () => {
  const metered = { group: "service", name: "gateway-0", pid: 100, threads: true };
  const read = (cpuTicks: number, threads: [number, string, number][], startTicks = 5): ProcessCpu => ({
    pid: 100,
    comm: "node",
    state: "S",
    cpuTicks,
    startTicks,
    threads: new Map(threads.map(([tid, comm, ticks]) => [tid, { comm, state: "S", cpuTicks: ticks, startTicks }])),
  });

  it("is the difference of the two reads in milliseconds, split by kind of thread", () => {
    const start = read(1000, [[100, "node", 700], [101, "rdk:main", 100], [102, "rdk:broker1", 50], [103, "node", 150]]);
    const end = read(1300, [[100, "node", 900], [101, "rdk:main", 120], [102, "rdk:broker1", 80], [103, "node", 200]]);
    expect(processUse(metered, start, end, 100)).toEqual({
      group: "service",
      name: "gateway-0",
      pid: 100,
      ms: 3000,
      threads: { main: 2000, librdkafka: 500, profiler: 0, other: 500 },
    });
  });

  it("keeps the time of a thread that ended within the window in the process's, as other", () => {
    const start = read(1000, [[100, "node", 700], [104, "node", 300]]);
    const end = read(1100, [[100, "node", 750]]);
    expect(processUse(metered, start, end, 100)?.threads).toEqual({ main: 500, librdkafka: 0, profiler: 0, other: 500 });
  });

  it("is unknown when the pid now names another process (the server restarted)", () => {
    expect(processUse(metered, read(1000, [], 5), read(10, [], 9), 100)).toBeUndefined();
  });

  it("tells the main thread by its id, librdkafka's and the profiler's by their names", () => {
    expect(threadKind(100, 100, "node")).toBe("main");
    expect(threadKind(100, 101, "rdk:broker-1")).toBe("librdkafka");
    expect(threadKind(100, 102, "v8:ProfEvntProc")).toBe("profiler");
    expect(threadKind(100, 103, "node")).toBe("other");
  });
});
