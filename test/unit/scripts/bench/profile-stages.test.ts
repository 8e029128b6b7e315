import { describe, expect, it } from "vitest";
import { classifyStack, frameOf, profileBudget, stageOrder, stepName, type CpuProfile, type Frame, type ProfileNode } from "../../../../scripts/bench/profile-stages.js";

const SRC = "file:///work/app/dist/src/";
const PKG = "file:///work/app/node_modules/";

/** A stack written outermost first, as a profile reads from its root: "fn@where" with where a service file, a package ("pkg:name"), or nothing (the VM). */
function stack(...frames: string[]): Frame[] {
  return frames
    .map((text) => {
      const [fn, where = ""] = text.split("@") as [string, string?];
      const url = where === "" ? "" : where.startsWith("pkg:") ? `${PKG}${where.slice(4)}/lib/index.js` : where.startsWith("node:") ? where : `${SRC}${where}.js`;
      return frameOf({ functionName: fn, url });
    })
    .reverse();
}

const stageOf = (...frames: string[]) => {
  const kind = classifyStack(stack(...frames));
  return kind.kind === "code" ? `${kind.role ?? "?"}: ${kind.step === undefined ? "other" : stepName(kind.step, kind.role)}` : kind.kind;
};

describe("where a frame's code lives", () => {
  it("tells the service's files (compiled or not) from packages, Node.js and the VM", () => {
    expect(frameOf({ functionName: "run", url: `${SRC}platform/processor/consume-loop.js` }).source).toEqual({ kind: "service", path: "platform/processor/consume-loop" });
    expect(frameOf({ functionName: "run", url: "file:///work/app/src/platform/processor/consume-loop.ts" }).source).toEqual({ kind: "service", path: "platform/processor/consume-loop" });
    // A package's own src/ folder is still the package.
    expect(frameOf({ functionName: "send", url: `${PKG}kafkajs/src/producer/index.js` }).source).toEqual({ kind: "package", name: "kafkajs" });
    expect(frameOf({ functionName: "x", url: `${PKG}@kafkajs/confluent-schema-registry/dist/index.js` }).source).toEqual({ kind: "package", name: "@kafkajs/confluent-schema-registry" });
    expect(frameOf({ functionName: "emit", url: "node:events" }).source).toEqual({ kind: "node" });
    expect(frameOf({ functionName: "writev", url: "" }).source).toEqual({ kind: "vm" });
  });
});

describe("the stage of a sample", () => {
  it("keeps idle, GC and time outside JavaScript apart", () => {
    expect(stageOf("(root)", "(idle)")).toBe("idle");
    expect(stageOf("(root)", "(garbage collector)")).toBe("gc");
    expect(stageOf("(root)", "(program)")).toBe("program");
  });

  it("charges a library's time to the step of the service code that called it", () => {
    const batch = ["(root)", "run@platform/processor/consume-loop", "run@platform/processor/batch-transaction"];
    expect(stageOf(...batch, "handle@platform/processor/batch-transaction", "produce@platform/processor/transactional-producer", "Producer.produce@pkg:node-rdkafka")).toBe("processor: produce");
    expect(stageOf(...batch, "handle@platform/processor/batch-transaction", "encode@infra/avro/avro-codec", "Tap.writeString@pkg:avsc")).toBe("processor: encode");
    expect(stageOf(...batch, "handle@platform/processor/batch-transaction", "stepCommand@platform/processor/command-step", "evolveMessages@contexts/conversations/domain/messages/state")).toBe("processor: decide");
  });

  it("counts the changelog's records as the changelog, though they go through the same produce", () => {
    const batch = ["(root)", "run@platform/processor/batch-transaction", "produceSnapshots@platform/processor/batch-transaction"];
    expect(stageOf(...batch, "produce@platform/processor/transactional-producer", "Producer.produce@pkg:node-rdkafka")).toBe("processor: changelog");
    expect(stageOf(...batch, "records@platform/processor/changelog-codec", "encodeSnapshot@platform/processor/aggregate-snapshot")).toBe("processor: changelog");
  });

  it("takes the role from the outermost service frame: the membership read model answers the gateway", () => {
    const incoming = ["(root)", "receive@platform/phoenix/socket-session", "push@platform/phoenix/socket-session", "answer@platform/phoenix/socket-session", "handleIn@contexts/conversations/channels/conversation-family"];
    expect(stageOf(...incoming, "isMember@contexts/conversations/projections/membership/membership-read-model", "lookup@contexts/conversations/projections/membership/redis-membership-cache", "sendCommand@pkg:ioredis")).toBe("gateway: validate: membership");
    expect(stageOf(...incoming, "send@contexts/conversations/channels/conversation-actions", "validateMessage@contexts/conversations/domain/messages/decide")).toBe("gateway: validate: payload");
    expect(stageOf("(root)", "run@platform/projection/projection-runtime", "apply@contexts/conversations/projections/membership/mysql-membership-store", "query@pkg:mysql2")).toBe("projector: write");
  });

  it("tells a reply from a delivery by who writes to the socket", () => {
    const write = ["send@platform/phoenix/socket-session", "send@platform/phoenix/socket-route", "send@pkg:ws", "writev"];
    expect(stageOf("(root)", "runMicrotasks", "answer@platform/phoenix/socket-session", ...write)).toBe("gateway: reply");
    expect(stageOf("(root)", "deliverMessages@contexts/conversations/channels/conversation-feed", "@contexts/conversations/channels/conversation-family", "push@platform/phoenix/socket-session", ...write)).toBe("gateway: fan-out");
    // The session's own push (a client's frame coming in) is not a delivery.
    expect(stageOf("(root)", "push@platform/phoenix/socket-session")).toBe("gateway: decode");
  });

  it("leaves what no rule knows as other, with the role it ran for", () => {
    expect(stageOf("(root)", "run@platform/processor/batch-transaction", "nextOffsets@platform/processor/batch-transaction")).toBe("processor: other");
    expect(stageOf("(root)", "processTimers@node:internal/timers")).toBe("?: other");
  });
});

/** A profile from samples given as [stack (outermost first), sample time µs]; nodes are shared by identical stacks. */
function profileOf(samples: readonly (readonly [string[], number])[], endTime: number): CpuProfile {
  const nodes: (ProfileNode & { children: number[] })[] = [{ id: 1, callFrame: { functionName: "(root)", url: "" }, children: [] }];
  const ids = new Map<string, number>([["(root)", 1]]);
  const idOf = (frames: string[]): number => {
    let parent = 1;
    for (let depth = 1; depth < frames.length; depth += 1) {
      const key = frames.slice(0, depth + 1).join(" > ");
      let id = ids.get(key);
      if (id === undefined) {
        id = nodes.length + 1;
        ids.set(key, id);
        const frame = stack(frames[depth]!)[0]!;
        const [fn, where = ""] = frames[depth]!.split("@") as [string, string?];
        nodes.push({ id, callFrame: { functionName: fn, url: frame.source.kind === "service" ? `${SRC}${where}.js` : where.startsWith("pkg:") ? `${PKG}${where.slice(4)}/lib/index.js` : "" }, children: [] });
        nodes[parent - 1]!.children.push(id);
      }
      parent = id;
    }
    return parent;
  };
  const ordered = [...samples].sort((a, b) => a[1] - b[1]);
  return {
    nodes,
    startTime: 0,
    endTime,
    samples: ordered.map(([frames]) => idOf(frames)),
    timeDeltas: ordered.map(([, at], i) => at - (i === 0 ? 0 : ordered[i - 1]![1])),
  };
}

describe("the budget of a profile", () => {
  const fanout = ["(root)", "deliverMessages@contexts/conversations/channels/conversation-feed", "push@platform/phoenix/socket-session", "send@platform/phoenix/socket-route", "writev"];
  const decode = ["(root)", "receive@platform/phoenix/socket-session", "decodeFrame@platform/phoenix/phoenix-serializer"];
  const producer = ["(root)", "@pkg:node-rdkafka", "produce"];
  const gateway = profileOf(
    [
      [decode, 1_000],
      [fanout, 2_000],
      [fanout, 3_000],
      [["(root)", "(idle)"], 4_000],
      [producer, 6_000],
      [["(root)", "(garbage collector)"], 7_000],
      // Outside both windows.
      [fanout, 20_000],
    ],
    21_000,
  );
  const windows = [
    { label: "first", fromUs: 0, toUs: 5_000, messages: 2 },
    { label: "second", fromUs: 5_000, toUs: 10_000, messages: 1 },
  ];

  it("splits each sample's time (until the next sample) over the windows by stage, idle apart", () => {
    const budget = profileBudget(gateway, windows);
    expect(budget.roles).toBe("gateway");
    expect(Object.fromEntries(budget.stages[0]!)).toEqual({ "gateway: decode": 1_000, "gateway: fan-out": 2_000 });
    expect(budget.idleUs).toEqual([2_000, 0]);
    expect(budget.sampledUs).toEqual([5_000, 1_000 + 13_000]);
  });

  it("gives a library's own callbacks to the process's only role, and names GC after it", () => {
    const budget = profileBudget(gateway, windows);
    expect(Object.fromEntries(budget.stages[1]!)).toEqual({ "gateway: produce": 1_000, "gateway: GC": 13_000 });
  });

  it("names a process of several roles after all of them where the stack tells none", () => {
    const batch = ["(root)", "run@platform/processor/batch-transaction", "stepCommand@platform/processor/command-step"];
    const write = ["(root)", "run@platform/projection/projection-runtime", "insertMessages@contexts/conversations/projections/history/mysql-history-store"];
    const core = profileOf(
      [
        [batch, 100],
        [write, 200],
        [["(root)", "@pkg:mysql2"], 300],
        [["(root)", "(program)"], 400],
      ],
      500,
    );
    const budget = profileBudget(core, [{ label: "all", fromUs: 0, toUs: 1_000, messages: 1 }], { frames: true });
    expect(budget.roles).toBe("processor + projector");
    expect(Object.fromEntries(budget.stages[0]!)).toEqual({
      "processor: decide": 100,
      "projector: write": 100,
      "processor + projector: MySQL client": 100,
      "processor + projector: outside JavaScript (program)": 100,
    });
    expect(budget.frames?.get("processor: decide")).toEqual(new Map([["stepCommand platform/processor/command-step < stepCommand platform/processor/command-step", 100]]));
  });
});

describe("the order of the budget's rows", () => {
  it("follows a message through each role, then whatever else", () => {
    const stages = ["projector: write", "gateway: fan-out", "processor: decide", "gateway: decode", "processor: consume", "gateway: validate: membership", "gateway + processor: GC", "gateway: GC"];
    expect([...stages].sort(stageOrder)).toEqual([
      "gateway: decode",
      "gateway: validate: membership",
      "gateway: fan-out",
      "gateway: GC",
      "processor: consume",
      "processor: decide",
      "projector: write",
      "gateway + processor: GC",
    ]);
  });
});
