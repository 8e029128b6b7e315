import { describe, expect, it } from "vitest";
import { ALL_ROLES, costRows, LOAD, SERVICE, type Cost } from "../../../../scripts/bench/cost-rows.js";
import type { CpuUse, ProcessUse } from "../../../../scripts/bench/cpu-meter.js";

const used = (group: string, name: string, ms: number, threads?: ProcessUse["threads"]): ProcessUse => ({ group, name, pid: name.length, ms, ...(threads ? { threads } : {}) });
const use = (messages: number, processes: ProcessUse[], missing: CpuUse["missing"] = []): CpuUse => ({ fromUs: 0, toUs: 2_000_000, messages, processes, missing, machineMs: 4 * messages });
const threads = (main: number, librdkafka: number, other: number) => ({ main, librdkafka, profiler: 0, other });

const ours: Cost = {
  idle: use(0, [used(SERVICE, ALL_ROLES, 100), used("Kafka broker", "Kafka broker", 300)]),
  byRate: new Map([
    [500, use(1_000, [used(SERVICE, ALL_ROLES, 600, threads(400, 100, 100)), used(SERVICE, "gateway-0", 400, threads(300, 0, 100)), used("Kafka broker", "Kafka broker", 500), used(LOAD, "clients-0", 200)])],
    [2_000, use(4_000, [used(SERVICE, ALL_ROLES, 600, threads(400, 100, 100)), used(SERVICE, "gateway-0", 400, threads(300, 0, 100)), used(LOAD, "clients-0", 200)], [{ group: "Kafka broker", name: "Kafka broker", reason: "exited or restarted during the step" }])],
  ]),
};
const ws: Cost = {
  idle: use(0, [used(SERVICE, "ws-server", 1)]),
  byRate: new Map([
    [500, use(1_000, [used(SERVICE, "ws-server", 100, threads(90, 0, 10)), used("Kafka broker", "Kafka broker", 50)])],
    [2_000, use(4_000, [used(SERVICE, "ws-server", 200, threads(180, 0, 20)), used("Kafka broker", "Kafka broker", 50)])],
  ]),
};

describe("the cost rows", () => {
  const rows = costRows([500, 2_000], 2, ours, ws, new Error("Socket.IO server did not start"));
  const find = (part: string) => rows.find((r) => r.measure.endsWith(part))!;

  it("give CPU milliseconds per message sent at each rate, the service's beside its baselines' server", () => {
    const service = find("service, every process (baselines: their server)");
    expect(service.measure).toBe("CPU ms per message sent @ 500 / 2,000 msg/s: service, every process (baselines: their server)");
    expect(service.ours).toBe("1.00 / 0.250");
    expect(service.ws).toBe("0.100 / 0.0500");
    expect(service.socketio).toMatch(/^error: Socket.IO server did not start/);
    expect(service.ratio).toBe("×10.00 / ×5.00 ws; n/a / n/a Socket.IO");
    expect(service.goal).toBe("≤ 0.25 ms at each rate (10 deliveries each): not met");
  });

  it("split the service by process and by kind of thread", () => {
    expect(find("service: the all-roles process (processors, projections)").ours).toBe("0.600 / 0.150");
    expect(find("service: the gateway processes").ours).toBe("0.400 / 0.100");
    expect(find("service: JavaScript main threads").ours).toBe("0.700 / 0.175");
    expect(find("service: librdkafka threads").ours).toBe("0.100 / 0.0250");
  });

  it("say why a figure is missing rather than count a restarted server as zero", () => {
    expect(find("Kafka broker (baselines: idle or others' load)").ours).toBe("0.500 / n/a (Kafka broker: exited or restarted during the step)");
  });

  it("end with what each part spends per second with no load", () => {
    expect(rows.at(-1)!.measure).toBe("CPU ms per second with no load (2 s before the first rate), by part");
    expect(rows.at(-1)!.ours).toBe("service 50.0, Kafka broker 150.0, machine 0.0");
  });
});
