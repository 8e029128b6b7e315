import avro from "avsc";
import { describe, expect, it } from "vitest";
import { parseAggregatePoint } from "../../../src/cli/aggregate-show.js";
import { exportSchema, EXPORT_RECORD } from "../../../src/cli/topic-export.js";
import { jsonLine } from "../../../src/cli/tool-output.js";
import { ToolError } from "../../../src/cli/tool-error.js";
import { outcomesOf } from "../../../src/cli/trace.js";
import { parseStartPosition, partitionOfKey, resolveTopic, type ToolRecord } from "../../../src/cli/topic-reader.js";
import { Partitioners } from "kafkajs";

const record = (topic: string, meta: Record<string, unknown>, headers: Record<string, string> = {}, fullName = "quikchat.messages.SendMessage"): ToolRecord => ({
  topic,
  partition: 0,
  offset: 0,
  timestamp: 0,
  key: "c1",
  rawKey: null,
  headers,
  raw: null,
  fullName,
  value: { meta },
  error: undefined,
});

describe("the operator tools' arguments", () => {
  it("read --from as beginning, end, an ISO time or <partition>:<offset>, and nothing else", () => {
    expect(parseStartPosition("beginning")).toEqual({ kind: "beginning" });
    expect(parseStartPosition("end")).toEqual({ kind: "end" });
    expect(parseStartPosition("2:17")).toEqual({ kind: "offset", partition: 2, offset: 17 });
    expect(parseStartPosition("2026-12-03T10:00:00Z")).toEqual({ kind: "time", at: Date.parse("2026-12-03T10:00:00Z") });
    for (const bad of ["yesterday", "2:x", "-1:3", "2026-13-45", ""]) expect(parseStartPosition(bad), bad).toBeUndefined();
  });

  it("read --at as an offset or an ISO time", () => {
    expect(parseAggregatePoint("42")).toEqual({ kind: "offset", offset: 42 });
    expect(parseAggregatePoint("2026-12-03")).toEqual({ kind: "time", at: Date.parse("2026-12-03") });
    expect(parseAggregatePoint("soon")).toBeUndefined();
  });

  it("name a topic by its context or its name, with or without the prefix, and refuse anything else in one line", () => {
    expect(resolveTopic("p.", "messages")).toBe("p.quikapp.messages.events");
    expect(resolveTopic("p.", "messages", "dlq")).toBe("p.quikapp.messages.dlq");
    expect(resolveTopic("p.", "quikapp.typing.commands")).toBe("p.quikapp.typing.commands");
    expect(resolveTopic("p.", "p.quikapp.typing.commands")).toBe("p.quikapp.typing.commands");
    expect(() => resolveTopic("", "nowhere")).toThrow(ToolError);
    expect(() => resolveTopic("", "users", "commands")).toThrow(/upstream/);
    expect(resolveTopic("p.", "users", "dlq")).toBe("p.quikapp.users.dlq");
  });

  it("find a key's partition as the producers of the service do (murmur2)", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0] }));
    for (const key of ["c1", "conversation-42", "u-ü"]) {
      expect(partitionOfKey(key, 6)).toBe(partitioner({ topic: "t", partitionMetadata, message: { key, value: null } }));
    }
  });
});

describe("a trace's outcomes", () => {
  const commands = "quikapp.messages.commands";
  it("are accepted with events, dead-lettered with the reason, or without either", () => {
    const records = [
      record(commands, { commandId: "a", correlationId: "k" }),
      record("quikapp.messages.events", { eventId: "a:0", causationId: "a", correlationId: "k" }, {}, "quikchat.messages.MessageSent"),
      record(commands, { commandId: "b", correlationId: "k" }),
      record("quikapp.messages.dlq", { commandId: "b", correlationId: "k" }, { error_code: "misrouted", error: "wrong key" }),
      record(commands, { commandId: "c", correlationId: "k" }),
    ];
    expect(outcomesOf("", records)).toEqual([
      { commandId: "a", type: "SendMessage", outcome: "accepted", events: 1, errors: [] },
      { commandId: "b", type: "SendMessage", outcome: "dead_lettered", events: 0, errors: ["misrouted: wrong key (quikapp.messages.dlq/0@0)"] },
      { commandId: "c", type: "SendMessage", outcome: "no_event", events: 0, errors: [] },
    ]);
  });
});

describe("an export", () => {
  it("has one writer schema for every record type of a topic, each shared type defined once", () => {
    const { schema, types } = exportSchema("", "quikapp.messages.events");
    const type = avro.Type.forSchema(schema as avro.Schema);
    expect(type.name).toBe(EXPORT_RECORD);
    expect(types.has("quikchat.messages.MessageSent")).toBe(true);
    expect(() => exportSchema("", "quikapp.messages.state")).toThrow(ToolError);
  });

  it("prints bytes as base64 and 64-bit integers as numbers in JSON lines", () => {
    expect(jsonLine({ data: Buffer.from("hi"), big: 12n })).toBe('{"data":"aGk=","big":12}');
  });
});
