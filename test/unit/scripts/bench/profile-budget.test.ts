import { describe, expect, it } from "vitest";
import { budgetOf, renderBudget, type ProfileFile } from "../../../../scripts/bench/profile-budget.js";
import type { CpuProfile } from "../../../../scripts/bench/profile-stages.js";

const SRC = "file:///work/app/dist/src/";

/** A gateway's profile: decoding for 1 ms, fanning out for 3 ms, then idle for 4 ms. */
const gateway: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: "(root)", url: "" }, children: [2, 3, 4] },
    { id: 2, callFrame: { functionName: "decodeFrame", url: `${SRC}platform/phoenix/phoenix-serializer.js` } },
    { id: 3, callFrame: { functionName: "deliverMessages", url: `${SRC}contexts/conversations/channels/conversation-feed.js` } },
    { id: 4, callFrame: { functionName: "(idle)", url: "" } },
  ],
  startTime: 0,
  endTime: 8_000,
  samples: [2, 3, 4],
  timeDeltas: [0, 1_000, 3_000],
};
const profiles: ProfileFile[] = [{ file: "CPU.1.2.42.0.001.cpuprofile", pid: 42, profile: gateway }];
const windows = [{ label: "500 msg/s", fromUs: 0, toUs: 10_000, messages: 4 }];

describe("the budget of several profiles", () => {
  it("adds up sampled time by stage when nothing measured the CPU", () => {
    const budget = budgetOf(profiles, windows);
    expect(budget.scaled).toBe(false);
    expect(budget.stages).toEqual([
      { stage: "gateway: decode", us: [1_000] },
      { stage: "gateway: fan-out", us: [3_000] },
    ]);
  });

  it("keeps each stage's share but adds up to the CPU the main thread spent (it waited for a core the rest of the time)", () => {
    const budget = budgetOf(profiles, windows, { mainCpuUs: new Map([[42, [2_000]]]) });
    expect(budget.stages).toEqual([
      { stage: "gateway: decode", us: [500] },
      { stage: "gateway: fan-out", us: [1_500] },
    ]);
  });

  it("leaves CPU the profile did not see busy as not sampled", () => {
    const quiet = [{ label: "no load", fromUs: 5_000, toUs: 10_000, messages: 0 }];
    expect(budgetOf(profiles, quiet, { mainCpuUs: new Map([[42, [300]]]) }).stages).toEqual([{ stage: "gateway: not sampled", us: [300] }]);
  });

  it("prints microseconds per message sent and shares", () => {
    const text = renderBudget(budgetOf(profiles, windows, { mainCpuUs: new Map([[42, [2_000]]]) }), [{ label: "/proc: librdkafka threads", us: [400] }]);
    expect(text.split("\n").map((line) => line.replace(/\s+/g, " "))).toEqual([
      "| stage (JavaScript main threads: profile shares × /proc CPU) | 500 msg/s: per message (share) |",
      "|-------------------------------------------------------------|-------------------------------:|",
      "| gateway: decode | 125 µs (25.0%) |",
      "| gateway: fan-out | 375 µs (75.0%) |",
      "| all stages (the main threads' CPU) | 500 µs |",
      "| /proc: librdkafka threads | 100 µs |",
    ]);
  });
});
