import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { OnlineUsersGauge } from "../../../../src/contexts/presence/online-users-gauge.js";

function gaugeOf(maxSeries: number) {
  const registry = new Registry();
  const gauge = new Gauge({ name: "presence_online_users", help: "test", labelNames: ["workspace_id"], registers: [registry] });
  const series = async () => Object.fromEntries((await gauge.get()).values.map(({ labels, value }) => [String(labels.workspace_id), value]));
  return { online: new OnlineUsersGauge(gauge, maxSeries), series };
}

describe("presence_online_users", () => {
  it("keeps a series per workspace only while it has users online", async () => {
    const { online, series } = gaugeOf(10);
    online.set("w1", 3);
    online.set("w2", 1);
    expect(await series()).toEqual({ w1: 3, w2: 1 });
    online.set("w2", 0);
    online.set("w3", 0);
    expect(await series()).toEqual({ w1: 3 });
  });

  it("gives at most the cap of workspaces a series, and sums the others under _other", async () => {
    const { online, series } = gaugeOf(2);
    online.set("w1", 3);
    online.set("w2", 1);
    online.set("w3", 4);
    online.set("w4", 2);
    expect(await series()).toEqual({ w1: 3, w2: 1, _other: 6 });
    online.set("w3", 1);
    expect(await series()).toEqual({ w1: 3, w2: 1, _other: 3 });
    online.set("w4", 0);
    online.set("w3", 0);
    expect(await series()).toEqual({ w1: 3, w2: 1 });
  });

  it("gives a series freed by a workspace gone quiet to one counted under _other at its next change", async () => {
    const { online, series } = gaugeOf(1);
    online.set("w1", 1);
    online.set("w2", 5);
    online.set("w1", 0);
    expect(await series()).toEqual({ _other: 5 });
    online.set("w2", 6);
    expect(await series()).toEqual({ w2: 6 });
  });

  it("stays within the cap however many workspaces come and go", async () => {
    const { online, series } = gaugeOf(50);
    for (let i = 0; i < 10_000; i += 1) {
      online.set(`w${i}`, 1 + (i % 3));
      if (i % 2 === 0) online.set(`w${i}`, 0);
    }
    const all = await series();
    expect(Object.keys(all).length).toBeLessThanOrEqual(51);
    const expected = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? 0 : 1 + (i % 3))).reduce((a, b) => a + b, 0);
    expect(Object.values(all).reduce((a, b) => a + b, 0)).toBe(expected);
  });
});
