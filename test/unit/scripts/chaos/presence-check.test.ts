import { describe, expect, it } from "vitest";
import { comparePresence, describePresence } from "../../../../scripts/chaos/presence-check.js";

describe("presence against the open sockets", () => {
  it("converges when the watcher and REST list exactly the connected users", () => {
    const users = new Set(["a", "b"]);
    expect(comparePresence(users, new Set(["b", "a"]), new Set(["a", "b"])).converged).toBe(true);
  });

  it("does not converge when REST does not answer", () => {
    expect(comparePresence(new Set(["a"]), new Set(["a"]), undefined).converged).toBe(false);
  });

  it("says who is listed but gone and who is connected but not listed, per view", () => {
    const look = comparePresence(new Set(["a", "b"]), new Set(["a", "z"]), undefined);
    expect(describePresence(look, undefined)).toBe("watcher: listed but gone [z], connected but not listed [b]; REST: no answer");
  });

  it("says how many discrepancies the previous step already left", () => {
    const before = comparePresence(new Set(["a"]), new Set(["a", "z"]), new Set(["a"]));
    const now = comparePresence(new Set(["a", "b"]), new Set(["a", "z"]), new Set(["a"]));
    expect(describePresence(now, before)).toMatch(/; 1 of these discrepancies were already there at the end of the previous step$/);
  });
});
