import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/contexts/index.js";

describe("the huddles configuration", () => {
  it("allows 16 participants and ends an empty huddle at once by default", () => {
    expect(loadConfig({}).huddles).toEqual({ maxParticipants: 16, emptyTimeoutMs: 0 });
  });

  it("takes a maximum and an empty timeout", () => {
    expect(loadConfig({ HUDDLE_MAX_PARTICIPANTS: "8", HUDDLE_EMPTY_TIMEOUT_MS: "30000" }).huddles).toEqual({ maxParticipants: 8, emptyTimeoutMs: 30_000 });
  });

  it("refuses a maximum below one and a negative or fractional timeout, naming each variable", () => {
    expect(() => loadConfig({ HUDDLE_MAX_PARTICIPANTS: "0", HUDDLE_EMPTY_TIMEOUT_MS: "-1" })).toThrow(/HUDDLE_MAX_PARTICIPANTS[^]*HUDDLE_EMPTY_TIMEOUT_MS/);
    expect(() => loadConfig({ HUDDLE_EMPTY_TIMEOUT_MS: "1.5" })).toThrow(/HUDDLE_EMPTY_TIMEOUT_MS/);
  });
});
