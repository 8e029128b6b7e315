import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/contexts/index.js";
import { FULL_PACE, paceOf, QUICK_PACE } from "../../../../scripts/chaos/run-pace.js";

describe("choosing the pace", () => {
  it("is the full run by default", () => expect(paceOf([], {})).toBe(FULL_PACE));

  it("is the quick run with --quick or CHAOS_QUICK=1", () => {
    expect(paceOf(["--quick"], {})).toBe(QUICK_PACE);
    expect(paceOf([], { CHAOS_QUICK: "1" })).toBe(QUICK_PACE);
    expect(paceOf([], { CHAOS_QUICK: "0" })).toBe(FULL_PACE);
  });

  it("fails on what it does not know rather than running the full run in CI", () => {
    expect(() => paceOf(["--quik"], {})).toThrow(/unknown argument --quik/);
    expect(() => paceOf([], { CHAOS_QUICK: "yes" })).toThrow(/CHAOS_QUICK=yes/);
  });
});

describe("the quick run", () => {
  const bounds = ["preFaultMs", "steadyAfterMs", "recoveryBoundMs", "presenceBoundMs", "historyBoundMs", "receiverBoundMs", "drainBoundMs"] as const;

  it("never waits longer than the full run", () => {
    for (const bound of bounds) expect(QUICK_PACE[bound], bound).toBeLessThanOrEqual(FULL_PACE[bound]);
  });

  it("has a bound for the whole run, the full run none", () => {
    expect(QUICK_PACE.runBoundMs).toBeGreaterThan(0);
    expect(FULL_PACE.runBoundMs).toBeUndefined();
  });

  it("waits for presence past the latest moment the sweeper takes a killed gateway's users offline", () => {
    const { presence } = loadConfig({});
    expect(QUICK_PACE.presenceBoundMs).toBeGreaterThan(presence.gatewayHeartbeatMs + presence.gatewayStaleMs + presence.sweepIntervalMs);
  });
});
