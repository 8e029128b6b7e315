import { describe, expect, it } from "vitest";
import { isMasterRequest, isMasterSucceeded, messageComplete } from "../../../../src/infra/stack/mongo-wire.js";

/** A BSON document from pre-encoded elements. */
function bson(...elements: Buffer[]): Buffer {
  const body = Buffer.concat([...elements, Buffer.from([0])]);
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length + 4);
  return Buffer.concat([len, body]);
}
const name = (type: number, key: string): Buffer => Buffer.concat([Buffer.from([type]), Buffer.from(`${key}\0`)]);
function double(key: string, value: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeDoubleLE(value);
  return Buffer.concat([name(0x01, key), v]);
}
function int32(key: string, value: number): Buffer {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  return Buffer.concat([name(0x10, key), v]);
}

function reply(responseTo: number, doc: Buffer, opCode = 2013): Buffer {
  const header = Buffer.alloc(21);
  header.writeInt32LE(21 + doc.length, 0);
  header.writeInt32LE(99, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, doc]);
}

describe("MongoDB isMaster over OP_MSG", () => {
  it("frames the request with its length, id and opcode", () => {
    const req = isMasterRequest(7);
    expect(req.readInt32LE(0)).toBe(req.length);
    expect(req.readInt32LE(4)).toBe(7);
    expect(req.readInt32LE(12)).toBe(2013);
    expect(req.subarray(21).toString("latin1")).toContain("isMaster\0");
    expect(req.subarray(21).toString("latin1")).toContain("$db\0");
    expect(messageComplete(req)).toBe(true);
    expect(messageComplete(req.subarray(0, req.length - 1))).toBe(false);
  });

  it("accepts ok: 1 as double or int32 for our request only", () => {
    const ok = bson(Buffer.concat([name(0x08, "ismaster"), Buffer.from([1])]), int32("maxWireVersion", 8), double("ok", 1));
    expect(isMasterSucceeded(reply(7, ok), 7)).toBe(true);
    expect(isMasterSucceeded(reply(7, bson(int32("ok", 1))), 7)).toBe(true);
    expect(isMasterSucceeded(reply(8, ok), 7)).toBe(false);
    expect(isMasterSucceeded(reply(7, ok, 1), 7)).toBe(false);
    expect(isMasterSucceeded(reply(7, bson(double("ok", 0))), 7)).toBe(false);
    expect(isMasterSucceeded(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n"), 7)).toBe(false);
  });
});
