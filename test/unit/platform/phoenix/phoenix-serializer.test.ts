import { describe, expect, it } from "vitest";
import {
  channelEndFrame,
  decodeFrame,
  encodeFrame,
  negotiateVersion,
  pushFrame,
  replyFrame,
  type DecodeResult,
  type FrameErrorCode,
  type PhoenixFrame,
  type ProtocolVersion,
} from "../../../../src/platform/phoenix/phoenix-serializer.js";

const text = (version: ProtocolVersion, data: string | Uint8Array, maxBytes = 65_536): DecodeResult =>
  decodeFrame(data, { version, binary: false, maxBytes });

const errorCode = (result: DecodeResult): FrameErrorCode | "ok" => (result.ok ? "ok" : result.error.code);

const frame: PhoenixFrame = { joinRef: "1", ref: "2", topic: "room:lobby", event: "new_msg", payload: { body: "hi", n: [1, { x: null }] } };

/** The client's V2 binary push layout: kind 0, four lengths, the names, then the payload bytes. */
function binaryPush(joinRef: string, ref: string, topic: string, event: string, payload: Uint8Array): Uint8Array {
  const names = [joinRef, ref, topic, event].map((name) => new TextEncoder().encode(name));
  const header = [0, ...names.map((name) => name.byteLength)];
  return new Uint8Array([...header, ...names.flatMap((name) => [...name]), ...payload]);
}

describe("protocol version negotiation", () => {
  it("treats a missing vsn as 1.0.0, as the Phoenix server does", () => {
    expect(negotiateVersion(undefined)).toBe("1.0.0");
  });

  it("accepts 1.0.x and 2.0.x and refuses anything else", () => {
    expect(negotiateVersion("2.0.0")).toBe("2.0.0");
    expect(negotiateVersion("2.0.3")).toBe("2.0.0");
    expect(negotiateVersion("1.0.0")).toBe("1.0.0");
    for (const vsn of ["3.0.0", "2.1.0", "2", "", "abc", "2.0.0-rc"]) expect(negotiateVersion(vsn)).toBeUndefined();
  });
});

describe("V2 (JSON arrays)", () => {
  it("round-trips a frame", () => {
    const encoded = encodeText("2.0.0", frame);
    expect(JSON.parse(encoded)).toEqual(["1", "2", "room:lobby", "new_msg", frame.payload]);
    expect(text("2.0.0", encoded)).toEqual({ ok: true, frame });
    expect(text("2.0.0", new TextEncoder().encode(encoded))).toEqual({ ok: true, frame });
  });

  it("reads null refs, as in heartbeats and broadcasts", () => {
    expect(text("2.0.0", '[null,"3","phoenix","heartbeat",{}]')).toEqual({
      ok: true,
      frame: { joinRef: null, ref: "3", topic: "phoenix", event: "heartbeat", payload: {} },
    });
  });

  it("encodes replies, pushes, phx_close and phx_error as the client expects them", () => {
    expect(JSON.parse(encodeText("2.0.0", replyFrame(frame, "ok", { a: 1 })))).toEqual([
      "1",
      "2",
      "room:lobby",
      "phx_reply",
      { status: "ok", response: { a: 1 } },
    ]);
    expect(JSON.parse(encodeText("2.0.0", pushFrame("room:lobby", "new_msg", { b: 2 })))).toEqual([
      null,
      null,
      "room:lobby",
      "new_msg",
      { b: 2 },
    ]);
    expect(JSON.parse(encodeText("2.0.0", channelEndFrame("phx_close", "room:lobby", "7")))).toEqual(["7", "7", "room:lobby", "phx_close", {}]);
    expect(JSON.parse(encodeText("2.0.0", channelEndFrame("phx_error", "room:lobby", "7")))).toEqual(["7", "7", "room:lobby", "phx_error", {}]);
  });

  it.each([
    ["not JSON", "[null,", "invalid_json"],
    ["an object", '{"topic":"t"}', "invalid_shape"],
    ["a number", "42", "invalid_shape"],
    ["null", "null", "invalid_shape"],
    ["four elements", '[null,"1","t","e"]', "invalid_shape"],
    ["six elements", '[null,"1","t","e",{},1]', "invalid_shape"],
    ["a numeric ref", '[null,1,"t","e",{}]', "invalid_ref"],
    ["a numeric join_ref", '[1,"1","t","e",{}]', "invalid_ref"],
    ["a numeric topic", '[null,"1",5,"e",{}]', "invalid_topic"],
    ["a null topic", '[null,"1",null,"e",{}]', "invalid_topic"],
    ["a long topic", `[null,"1","${"t".repeat(256)}","e",{}]`, "invalid_topic"],
    ["a non-string event", '[null,"1","t",["e"],{}]', "invalid_event"],
    ["an array payload", '[null,"1","t","e",[]]', "invalid_payload"],
    ["a string payload", '[null,"1","t","e","hello"]', "invalid_payload"],
    ["a null payload", '[null,"1","t","e",null]', "invalid_payload"],
  ])("refuses %s", (_what, input, code) => {
    expect(errorCode(text("2.0.0", input))).toBe(code);
  });

  it("refuses invalid UTF-8 without throwing", () => {
    expect(errorCode(text("2.0.0", new Uint8Array([0x5b, 0xff, 0xfe, 0x5d])))).toBe("invalid_json");
  });

  it("keeps the address of a frame whose payload is wrong, so it can be answered", () => {
    const result = text("2.0.0", '["1","5","room:1","e","not an object"]');
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_payload", joinRef: "1", ref: "5", topic: "room:1" } });
  });

  it("refuses an oversized frame but still reads its address", () => {
    const big = JSON.stringify(["1", "9", "room:1", "e", { body: "x".repeat(200) }]);
    const result = text("2.0.0", big, 100);
    expect(result).toMatchObject({ ok: false, error: { code: "too_large", ref: "9", topic: "room:1" } });
  });

  it("reads the address of a binary push and refuses its payload", () => {
    const bytes = binaryPush("1", "4", "room:1", "file", new Uint8Array([1, 2, 3]));
    const result = decodeFrame(bytes, { version: "2.0.0", binary: true, maxBytes: 100 });
    expect(result).toMatchObject({ ok: false, error: { code: "binary_unsupported", joinRef: "1", ref: "4", topic: "room:1" } });
  });

  it.each([
    ["an empty frame", new Uint8Array([])],
    ["a reply kind", new Uint8Array([1, 0, 0, 0, 0])],
    ["a truncated header", new Uint8Array([0, 1])],
    ["lengths past the end", new Uint8Array([0, 200, 0, 0, 0, 65])],
  ])("refuses a malformed binary frame: %s", (_what, bytes) => {
    expect(errorCode(decodeFrame(bytes, { version: "2.0.0", binary: true, maxBytes: 100 }))).toBe("invalid_binary");
  });
});

describe("V1 (JSON objects)", () => {
  it("round-trips a frame", () => {
    const encoded = encodeText("1.0.0", frame);
    expect(JSON.parse(encoded)).toEqual({ topic: "room:lobby", event: "new_msg", payload: frame.payload, ref: "2", join_ref: "1" });
    expect(text("1.0.0", encoded)).toEqual({ ok: true, frame });
  });

  it("reads a frame without join_ref, as V1 clients send it", () => {
    expect(text("1.0.0", '{"topic":"t","event":"e","payload":{},"ref":"1"}')).toEqual({
      ok: true,
      frame: { joinRef: null, ref: "1", topic: "t", event: "e", payload: {} },
    });
  });

  it.each([
    ["an array", '[null,"1","t","e",{}]', "invalid_shape"],
    ["a missing ref key", '{"topic":"t","event":"e","payload":{}}', "invalid_shape"],
    ["a missing payload", '{"topic":"t","event":"e","ref":"1"}', "invalid_shape"],
    ["a numeric ref", '{"topic":"t","event":"e","payload":{},"ref":1}', "invalid_ref"],
    ["a numeric join_ref", '{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":2}', "invalid_ref"],
    ["a non-string topic", '{"topic":{},"event":"e","payload":{},"ref":"1"}', "invalid_topic"],
    ["a non-string event", '{"topic":"t","event":1,"payload":{},"ref":"1"}', "invalid_event"],
    ["a list payload", '{"topic":"t","event":"e","payload":[1],"ref":"1"}', "invalid_payload"],
  ])("refuses %s", (_what, input, code) => {
    expect(errorCode(text("1.0.0", input))).toBe(code);
  });

  it("refuses binary frames", () => {
    expect(errorCode(decodeFrame(new Uint8Array([0, 0, 0, 0, 0]), { version: "1.0.0", binary: true, maxBytes: 100 }))).toBe(
      "binary_unsupported",
    );
  });
});

/** mulberry32: a small seeded PRNG, so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function assertTotal(result: DecodeResult): void {
  if (result.ok) {
    expect(typeof result.frame.topic).toBe("string");
    expect(typeof result.frame.event).toBe("string");
    expect(typeof result.frame.payload).toBe("object");
  } else {
    expect(typeof result.error.code).toBe("string");
  }
}

describe("fuzzing the decoder", () => {
  const versions: ProtocolVersion[] = ["1.0.0", "2.0.0"];
  const interesting = ["[", "]", "{", "}", '"', ",", ":", "null", "true", "1e999", "-0", "\\u0000", "\\", "__proto__", "{}", "[]", "\ud800"];
  const seeds = [
    encodeText("2.0.0", frame),
    encodeText("1.0.0", frame),
    '[null,"3","phoenix","heartbeat",{}]',
    '["1","1","room:1","phx_join",{"token":"x"}]',
  ];

  it("never throws on random bytes (text and binary)", () => {
    const random = prng(20_240_601);
    for (let i = 0; i < 3_000; i++) {
      const bytes = new Uint8Array(Math.floor(random() * 64));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      for (const version of versions) {
        for (const binary of [false, true]) {
          const result = decodeFrame(bytes, { version, binary, maxBytes: 48 });
          assertTotal(result);
        }
      }
    }
  });

  it("never throws on mutated valid frames", () => {
    const random = prng(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      let input = pick(seeds);
      const mutations = 1 + Math.floor(random() * 4);
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(random() * (input.length + 1));
        const action = random();
        if (action < 0.33) input = input.slice(0, at) + input.slice(at + 1 + Math.floor(random() * 4));
        else if (action < 0.66) input = input.slice(0, at) + pick(interesting) + input.slice(at);
        else input = input.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x3000)) + input.slice(at + 1);
      }
      for (const version of versions) {
        const result = decodeFrame(input, { version, binary: false, maxBytes: 80 });
        assertTotal(result);
        if (result.ok) accepted += 1;
      }
    }
    // The mutations must leave some frames valid, or the fuzzer only ever tests the JSON parser.
    expect(accepted).toBeGreaterThan(0);
  });

  it("survives deeply nested input", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    assertTotal(text("2.0.0", deep, 1_000_000));
    const deepObject = `[null,"1","t","e",${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}]`;
    assertTotal(text("2.0.0", deepObject, 1_000_000));
  });
});

describe("broadcast pushes", () => {
  it("encode a frozen payload once per version, topic and event, and any other payload each time", () => {
    const shared = Object.freeze({ body: "hi" });
    const first = encodeFrame("2.0.0", pushFrame("chat:c1", "message:new", shared));
    expect(encodeFrame("2.0.0", pushFrame("chat:c1", "message:new", shared))).toBe(first);
    expect(Buffer.isBuffer(first)).toBe(true);
    expect(JSON.parse(first.toString())).toEqual([null, null, "chat:c1", "message:new", { body: "hi" }]);
    // Another dialect's topic and event, and V1, are encoded on their own.
    expect(JSON.parse(encodeText("2.0.0", pushFrame("conversation:c1", "new_message", shared)))).toEqual([null, null, "conversation:c1", "new_message", { body: "hi" }]);
    expect(JSON.parse(encodeText("1.0.0", pushFrame("chat:c1", "message:new", shared)))).toMatchObject({ topic: "chat:c1", payload: { body: "hi" } });

    const changing: Record<string, unknown> = { body: "one" };
    expect(encodeFrame("2.0.0", pushFrame("chat:c1", "message:new", changing))).toContain('"one"');
    changing.body = "two";
    expect(encodeFrame("2.0.0", pushFrame("chat:c1", "message:new", changing))).toContain('"two"');
    // Replies are never taken from the cache, even with a frozen response.
    expect(encodeFrame("2.0.0", replyFrame({ joinRef: "1", ref: "5", topic: "chat:c1" }, "ok", shared))).toContain('"5"');
  });
});

/** The text of an encoded frame, whichever form it came in. */
function encodeText(version: "1.0.0" | "2.0.0", frame: Parameters<typeof encodeFrame>[1]): string {
  return encodeFrame(version, frame).toString();
}
