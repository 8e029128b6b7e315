import { describe, expect, it } from "vitest";
import { faultCatalogue, flowing, recoveryAfter, selectFaults, type FaultTargets } from "../../../../scripts/chaos/fault-catalogue.js";
import type { Ack } from "../../../../scripts/chaos/message-load.js";

const ack = (attemptSentAt: number, ackAt: number): Ack => ({ clientMsgId: `m${ackAt}`, conversationId: "c", id: "i", seq: 1, firstSentAt: attemptSentAt, attemptSentAt, ackAt, attempts: 1 });
const sender = (label: string, acks: Ack[]) => ({ label, acks: new Map(acks.map((a) => [a.clientMsgId, a])) });

describe("the catalogue", () => {
  const calls: string[] = [];
  const slot = (name: string) => ({ name, kill: async () => (calls.push(`kill ${name}`), "SIGKILL"), start: () => calls.push(`start ${name}`), ready: async () => undefined });
  const machine = {
    kafkaRestartable: async () => "not ours",
    stopKafka: async () => void calls.push("stop kafka"),
    startKafka: async () => void calls.push("start kafka"),
    redisRestartable: async () => undefined,
    stopRedis: async () => void calls.push("stop redis"),
    startRedis: async () => void calls.push("start redis"),
    mariadbRestartable: async () => undefined,
    stopMariadb: async () => void calls.push("stop mariadb"),
    startMariadb: async () => void calls.push("start mariadb"),
  };
  const faults = faultCatalogue({ gatewayA: slot("gateway-a"), processor: slot("processor"), projector: slot("projector"), machine } as unknown as FaultTargets);

  it("holds the six faults in their fixed order, numbered as CHAOS_FAULTS counts them", () => {
    expect(faults.map((f) => f.name)).toEqual([
      "kill -9 gateway (1 of 2)",
      "kill -9 processor",
      "kill -9 projector",
      "Kafka broker restart",
      "Redis restart (nothing kept)",
      "MariaDB restart",
    ]);
    expect(faults.map((f) => f.outageMs)).toEqual([2_000, 11_000, 1_000, 3_000, 3_000, 3_000]);
  });

  it("injects and undoes each fault on its own component", async () => {
    for (const fault of faults) {
      await fault.inject();
      await fault.undo();
    }
    expect(calls).toEqual([
      "kill gateway-a", "start gateway-a",
      "kill processor", "start processor",
      "kill projector", "start projector",
      "stop kafka", "start kafka",
      "stop redis", "start redis",
      "stop mariadb", "start mariadb",
    ]);
  });

  it("says before the run which fault this machine cannot inject", async () => {
    expect(await Promise.all(faults.map((f) => f.preflight()))).toEqual([undefined, undefined, undefined, "not ours", undefined, undefined]);
  });
});

describe("CHAOS_FAULTS", () => {
  const all = ["a", "b", "c", "d", "e", "f"];

  it("runs every fault when unset", () => expect(selectFaults(all, undefined)).toEqual(all));

  it("runs the numbered faults in catalogue order", () => expect(selectFaults(all, "5,2")).toEqual(["b", "e"]));

  it("fails on a number that names no fault rather than running none", () => {
    expect(() => selectFaults(all, "7")).toThrow(/numbered 1 to 6/);
    expect(() => selectFaults(all, "")).toThrow();
    expect(() => selectFaults(all, "2,x")).toThrow();
  });
});

describe("recovery after a fault in effect since t=100", () => {
  it("is the first acknowledgement of a push sent after the fault, and when every sender had one", () => {
    const recovery = recoveryAfter([sender("c0", [ack(50, 120), ack(110, 130)]), sender("c1", [ack(105, 160)])], 100);
    expect(recovery).toEqual({ first: 130, all: 160, stuck: [] });
  });

  it("does not count a push sent before the fault, even acknowledged after it", () => {
    const recovery = recoveryAfter([sender("c0", [ack(110, 130)]), sender("c1", [ack(90, 150)])], 100);
    expect(recovery).toEqual({ first: 130, all: undefined, stuck: ["c1"] });
  });
});

describe("sends flowing", () => {
  it("holds only when every sender had an acknowledgement within the window", () => {
    const senders = [sender("c0", [ack(0, 990)]), sender("c1", [ack(0, 400)])];
    expect(flowing(senders, 500, 1_000)).toBe(false);
    expect(flowing(senders, 700, 1_000)).toBe(true);
  });
});
