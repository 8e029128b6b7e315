import { describe, expect, it } from "vitest";
import { parseListeners } from "../../../../scripts/bench/stack-processes.js";

describe("finding a server by its port (ss -Hltnp)", () => {
  const ss = [
    'LISTEN 0      511             127.0.0.1:6379       0.0.0.0:*    users:(("redis-server",pid=24180,fd=6))',
    'LISTEN 0      511                 [::1]:6379          [::]:*    users:(("redis-server",pid=24180,fd=7))',
    'LISTEN 0      50     [::ffff:127.0.0.1]:9092             *:*    users:(("java",pid=23858,fd=298))',
    "LISTEN 0      128               0.0.0.0:2024       0.0.0.0:*",
    "",
  ].join("\n");

  it("maps each port to the pid listening on it, IPv6 addresses included", () => {
    expect(parseListeners(ss)).toEqual(
      new Map([
        [6379, 24180],
        [9092, 23858],
      ]),
    );
  });
});
