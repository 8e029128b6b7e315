import { describe, expect, it } from "vitest";
import { lagOf } from "../../../../src/infra/kafka/consumer-lag.js";

describe("a consumer's lag from librdkafka's statistics", () => {
  it("is the last stable offset minus the position once the consumer has one (a processor commits through transactions)", () => {
    expect(lagOf({ ls_offset: 12, app_offset: 9, consumer_lag: -1 })).toBe(3);
    expect(lagOf({ ls_offset: 12, app_offset: 12, consumer_lag: 5 })).toBe(0);
  });

  it("falls back on the committed lag before the first record, and is unknown without either", () => {
    expect(lagOf({ ls_offset: 12, app_offset: -1001, consumer_lag: 2 })).toBe(2);
    expect(lagOf({ ls_offset: 12, app_offset: -1001, consumer_lag: -1 })).toBeUndefined();
    expect(lagOf({})).toBeUndefined();
  });
});
