import avro from "avsc";
import { describe, expect, it } from "vitest";
import { checkCompatibility, isFullyCompatible } from "../../../../src/platform/contract/compatibility.js";
import { loadSchemaCatalog } from "../../../../src/platform/contract/schema-catalog.js";

const status = { type: "enum", name: "Status", symbols: ["online", "away", "offline"] };

function record(fields: object[], name = "quikchat.test.Probe"): object {
  return { type: "record", name, fields };
}

const base = record([
  { name: "userId", type: "string" },
  { name: "status", type: status },
  { name: "seq", type: "long" },
]);

describe("checkCompatibility", () => {
  it("accepts an unchanged schema", () => {
    expect(checkCompatibility(base, base)).toEqual({ backward: true, forward: true, reasons: [] });
  });

  it("accepts adding an optional field with default null", () => {
    const next = record([...(base as { fields: object[] }).fields, { name: "note", type: ["null", "string"], default: null }]);
    const result = checkCompatibility(base, next);
    expect(result).toEqual({ backward: true, forward: true, reasons: [] });
    expect(isFullyCompatible(result)).toBe(true);
  });

  it("refuses adding a field without a default: new readers cannot read old data", () => {
    const next = record([...(base as { fields: object[] }).fields, { name: "deviceId", type: "string" }]);
    const result = checkCompatibility(base, next);
    expect(result.backward).toBe(false);
    expect(result.forward).toBe(true);
    expect(isFullyCompatible(result)).toBe(false);
    expect(result.reasons).toEqual([expect.stringMatching(/^backward .*deviceId: the reader requires this field/)]);
  });

  it("refuses removing a field without a default: old readers cannot read new data", () => {
    const next = record([{ name: "userId", type: "string" }, { name: "status", type: status }]);
    const result = checkCompatibility(base, next);
    expect(result.backward).toBe(true);
    expect(result.forward).toBe(false);
    expect(result.reasons).toEqual([expect.stringMatching(/^forward .*seq: the reader requires this field/)]);
  });

  it("accepts removing a field that had a default", () => {
    const previous = record([{ name: "userId", type: "string" }, { name: "note", type: ["null", "string"], default: null }]);
    const next = record([{ name: "userId", type: "string" }]);
    expect(isFullyCompatible(checkCompatibility(previous, next))).toBe(true);
  });

  it("refuses changing a field's type incompatibly", () => {
    const next = record([{ name: "userId", type: "long" }, { name: "status", type: status }, { name: "seq", type: "long" }]);
    const result = checkCompatibility(base, next);
    expect(result.backward).toBe(false);
    expect(result.forward).toBe(false);
    expect(result.reasons.join("\n")).toMatch(/userId/);
  });

  it("refuses widening int to long for old readers (a promotion works one way only)", () => {
    const previous = record([{ name: "n", type: "int" }]);
    const next = record([{ name: "n", type: "long" }]);
    expect(checkCompatibility(previous, next)).toMatchObject({ backward: true, forward: false });
  });

  it("refuses removing an enum symbol when the enum has no default", () => {
    const next = record([
      { name: "userId", type: "string" },
      { name: "status", type: { ...status, symbols: ["online", "offline"] } },
      { name: "seq", type: "long" },
    ]);
    const result = checkCompatibility(base, next);
    expect(result.backward).toBe(false);
    expect(result.forward).toBe(true);
    expect(result.reasons).toEqual([expect.stringMatching(/^backward .*status: symbols away are unknown to the reader/)]);
  });

  it("refuses adding an enum symbol when the enum has no default (old readers meet it)", () => {
    const next = record([
      { name: "userId", type: "string" },
      { name: "status", type: { ...status, symbols: ["online", "away", "dnd", "offline"] } },
      { name: "seq", type: "long" },
    ]);
    expect(checkCompatibility(base, next)).toMatchObject({ backward: true, forward: false });
  });

  it("accepts adding and removing enum symbols when the enum has a default", () => {
    const withDefault = (symbols: string[]): object => record([{ name: "status", type: { ...status, symbols, default: "online" } }]);
    expect(isFullyCompatible(checkCompatibility(withDefault(["online", "away"]), withDefault(["online", "away", "dnd"])))).toBe(true);
    expect(isFullyCompatible(checkCompatibility(withDefault(["online", "away"]), withDefault(["online"])))).toBe(true);
  });

  it("refuses making an optional field required", () => {
    const previous = record([{ name: "note", type: ["null", "string"], default: null }]);
    const next = record([{ name: "note", type: "string" }]);
    expect(checkCompatibility(previous, next)).toMatchObject({ backward: false, forward: true });
  });

  it("refuses renaming the record", () => {
    const result = checkCompatibility(base, { ...base, name: "quikchat.test.Renamed" });
    expect(result).toMatchObject({ backward: false, forward: false });
    expect(result.reasons).toHaveLength(2);
  });

  it("finds the culprit inside nested records and arrays", () => {
    const nested = (itemFields: object[]): object =>
      record([{ name: "members", type: { type: "array", items: { type: "record", name: "Member", fields: itemFields } } }]);
    const result = checkCompatibility(nested([{ name: "userId", type: "string" }]), nested([{ name: "userId", type: "string" }, { name: "role", type: "string" }]));
    expect(result.reasons).toEqual([expect.stringMatching(/members\[\]\.role: the reader requires this field/)]);
  });

  it("takes parsed avsc types as well as JSON", () => {
    const type = avro.Type.forSchema(base as avro.Schema);
    expect(isFullyCompatible(checkCompatibility(type, base))).toBe(true);
  });

  it("throws on a schema that is not valid Avro", () => {
    expect(() => checkCompatibility(base, { type: "record", name: "X", fields: [{ name: "a", type: "strnig" }] })).toThrow();
  });

  it("judges the real contract: MessageSent may gain an optional field, never lose seq", () => {
    const sent = loadSchemaCatalog().find((r) => r.fullName === "quikchat.messages.MessageSent")!;
    const schema = sent.schema as { fields: { name: string }[] };
    const optional = { ...schema, fields: [...schema.fields, { name: "threadId", type: ["null", "string"], default: null }] };
    expect(isFullyCompatible(checkCompatibility(sent.schema, optional))).toBe(true);
    const withoutSeq = { ...schema, fields: schema.fields.filter((f) => f.name !== "seq") };
    const result = checkCompatibility(sent.schema, withoutSeq);
    expect(result.forward).toBe(false);
    expect(result.reasons.join("\n")).toMatch(/seq/);
  });
});
