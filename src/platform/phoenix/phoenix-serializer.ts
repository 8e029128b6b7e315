/**
 * The Phoenix Channels wire format, both versions the stock client speaks:
 *
 * - V2 (`vsn=2.0.0`, the client's default): JSON arrays `[join_ref, ref, topic, event, payload]`.
 * - V1 (`vsn=1.0.0`, or no `vsn` at all, as the Phoenix server assumes): JSON objects
 *   `{topic, event, payload, ref, join_ref?}`.
 *
 * Pure: no I/O, and decoding never throws.
 */

export type ProtocolVersion = "1.0.0" | "2.0.0";

/** Topic and event names the protocol itself uses. */
export const PHOENIX = {
  socketTopic: "phoenix",
  heartbeat: "heartbeat",
  join: "phx_join",
  leave: "phx_leave",
  reply: "phx_reply",
  close: "phx_close",
  error: "phx_error",
} as const;

/** One message in either direction. Refs are opaque strings chosen by the client. */
export interface PhoenixFrame {
  readonly joinRef: string | null;
  readonly ref: string | null;
  readonly topic: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

export type FrameErrorCode =
  | "invalid_json"
  | "invalid_shape"
  | "invalid_ref"
  | "invalid_topic"
  | "invalid_event"
  | "invalid_payload"
  | "too_large"
  | "invalid_binary"
  | "binary_unsupported";

/**
 * Why a frame could not be decoded, and as much of its address as could be read: with a ref
 * and a topic the socket can send an error reply; without, it can only drop the frame.
 */
export interface FrameError {
  readonly code: FrameErrorCode;
  readonly message: string;
  readonly joinRef: string | null;
  readonly ref: string | null;
  readonly topic: string | null;
}

export type DecodeResult = { readonly ok: true; readonly frame: PhoenixFrame } | { readonly ok: false; readonly error: FrameError };

export interface DecodeOptions {
  readonly version: ProtocolVersion;
  /** A WebSocket binary frame (opcode 2) rather than a text frame. */
  readonly binary: boolean;
  /** Frames larger than this are refused with `too_large` (their address is still read). */
  readonly maxBytes: number;
}

/** Longest topic or event accepted; also the limit of the V2 binary format's length bytes. */
export const MAX_NAME_LENGTH = 255;

const BINARY_PUSH = 0;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Maps the `vsn` query parameter to a protocol version, as the Phoenix server does: absent
 * means 1.0.0; any 1.0.x or 2.0.x is accepted; anything else is `undefined` (refuse the socket).
 */
export function negotiateVersion(vsn: string | undefined): ProtocolVersion | undefined {
  if (vsn === undefined) return "1.0.0";
  if (/^1\.0\.\d+$/.test(vsn)) return "1.0.0";
  if (/^2\.0\.\d+$/.test(vsn)) return "2.0.0";
  return undefined;
}

/** Decodes one client frame. Never throws: returns the frame or a typed error. */
export function decodeFrame(data: string | Uint8Array, options: DecodeOptions): DecodeResult {
  if (options.binary) {
    const bytes = typeof data === "string" ? utf8Encoder.encode(data) : data;
    return options.version === "2.0.0"
      ? decodeBinaryPush(bytes)
      : failure("binary_unsupported", "binary frames are not part of the V1 protocol");
  }
  const size = typeof data === "string" ? utf8Encoder.encode(data).byteLength : data.byteLength;
  let text: string;
  try {
    text = typeof data === "string" ? data : utf8.decode(data);
  } catch {
    return failure("invalid_json", "the frame is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return failure("invalid_json", "the frame is not valid JSON");
  }
  const result = options.version === "2.0.0" ? fromArray(parsed) : fromObject(parsed);
  if (size > options.maxBytes) {
    const address = result.ok ? result.frame : result.error;
    return failure("too_large", `the frame is ${size} bytes; at most ${options.maxBytes} are accepted`, address);
  }
  return result;
}

/** The text of a WebSocket message: a string, or its UTF-8 bytes. */
export type EncodedFrame = string | Buffer;

/** Encodes one server frame as the text of a WebSocket message. Throws only on unserializable payloads (cycles, BigInt). */
export function encodeFrame(version: ProtocolVersion, frame: PhoenixFrame): EncodedFrame {
  const { payload } = frame;
  // A push of a frozen payload (one broadcast to every socket of a room, which nobody may
  // change) is encoded once per version, topic and event, however many sockets it goes to,
  // and to bytes at once: every socket is handed the same bytes, none converts the text again.
  if (frame.ref !== null || frame.joinRef !== null || !Object.isFrozen(payload)) return serialize(version, frame);
  let texts = encodedPushes.get(payload);
  if (texts === undefined) encodedPushes.set(payload, (texts = new Map<string, Buffer>()));
  const key = `${version}\u0000${frame.topic}\u0000${frame.event}`;
  let bytes = texts.get(key);
  if (bytes === undefined) texts.set(key, (bytes = Buffer.from(serialize(version, frame))));
  return bytes;
}

/** Encoded pushes of frozen payloads, by protocol version, topic and event. */
const encodedPushes = new WeakMap<object, Map<string, Buffer>>();

function serialize(version: ProtocolVersion, frame: PhoenixFrame): string {
  if (version === "2.0.0") return JSON.stringify([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload]);
  // V1 clients ignore join_ref; sending it lets newer V1 clients drop messages of an earlier join.
  return JSON.stringify({ topic: frame.topic, event: frame.event, payload: frame.payload, ref: frame.ref, join_ref: frame.joinRef });
}

/** The `phx_reply` answering the frame at `to`: `{status, response}` under its ref. */
export function replyFrame(
  to: { readonly joinRef: string | null; readonly ref: string | null; readonly topic: string },
  status: "ok" | "error",
  response: Record<string, unknown>,
): PhoenixFrame {
  return { joinRef: to.joinRef, ref: to.ref, topic: to.topic, event: PHOENIX.reply, payload: { status, response } };
}

/** A server push on a topic: `[null, null, topic, event, payload]`. */
export function pushFrame(topic: string, event: string, payload: Record<string, unknown>): PhoenixFrame {
  return { joinRef: null, ref: null, topic, event, payload };
}

/** `phx_close` or `phx_error` ending the join `joinRef` of `topic` (Phoenix sends the join ref as ref too). */
export function channelEndFrame(
  event: typeof PHOENIX.close | typeof PHOENIX.error,
  topic: string,
  joinRef: string | null,
  payload: Record<string, unknown> = {},
): PhoenixFrame {
  return { joinRef, ref: joinRef, topic, event, payload };
}

function fromArray(parsed: unknown): DecodeResult {
  if (!Array.isArray(parsed) || parsed.length !== 5) {
    return failure("invalid_shape", "a V2 frame is an array [join_ref, ref, topic, event, payload]");
  }
  const [joinRef, ref, topic, event, payload] = parsed as unknown[];
  return validate({ joinRef, ref, topic, event, payload });
}

function fromObject(parsed: unknown): DecodeResult {
  if (!isPlainObject(parsed) || !("topic" in parsed) || !("event" in parsed) || !("payload" in parsed) || !("ref" in parsed)) {
    return failure("invalid_shape", "a V1 frame is an object {topic, event, payload, ref}");
  }
  return validate({ joinRef: parsed.join_ref ?? null, ref: parsed.ref, topic: parsed.topic, event: parsed.event, payload: parsed.payload });
}

function validate(fields: { joinRef: unknown; ref: unknown; topic: unknown; event: unknown; payload: unknown }): DecodeResult {
  const joinRef = isRef(fields.joinRef) ? fields.joinRef : null;
  const ref = isRef(fields.ref) ? fields.ref : null;
  const topic = isName(fields.topic) ? fields.topic : null;
  const address = { joinRef, ref, topic };
  if (!isRef(fields.joinRef)) return failure("invalid_ref", "join_ref must be a string or null", address);
  if (!isRef(fields.ref)) return failure("invalid_ref", "ref must be a string or null", address);
  if (topic === null) return failure("invalid_topic", `topic must be a string of at most ${MAX_NAME_LENGTH} characters`, address);
  if (!isName(fields.event)) return failure("invalid_event", `event must be a string of at most ${MAX_NAME_LENGTH} characters`, address);
  if (!isPlainObject(fields.payload)) return failure("invalid_payload", "payload must be a JSON object", address);
  return { ok: true, frame: { joinRef, ref, topic, event: fields.event, payload: fields.payload } };
}

/**
 * The V2 client sends a channel push whose payload is an ArrayBuffer as
 * `[kind=0, len(join_ref), len(ref), len(topic), len(event), join_ref, ref, topic, event, bytes…]`.
 * Channel handlers take JSON objects only, so such a push is refused, addressed so it can be answered.
 */
function decodeBinaryPush(bytes: Uint8Array): DecodeResult {
  const headerLength = 5;
  if (bytes.byteLength < headerLength || bytes[0] !== BINARY_PUSH) {
    return failure("invalid_binary", "a binary frame must be a V2 binary push");
  }
  const lengths = [bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0, bytes[4] ?? 0];
  const fields: string[] = [];
  let offset = headerLength;
  for (const length of lengths) {
    if (offset + length > bytes.byteLength) return failure("invalid_binary", "the binary push is shorter than its header says");
    try {
      fields.push(utf8.decode(bytes.subarray(offset, offset + length)));
    } catch {
      return failure("invalid_binary", "the binary push's names are not valid UTF-8");
    }
    offset += length;
  }
  const [joinRef = "", ref = "", topic = ""] = fields;
  return failure("binary_unsupported", "binary payloads are not supported; send a JSON object", {
    joinRef: joinRef === "" ? null : joinRef,
    ref: ref === "" ? null : ref,
    topic,
  });
}

function failure(
  code: FrameErrorCode,
  message: string,
  address: { readonly joinRef: string | null; readonly ref: string | null; readonly topic: string | null } = {
    joinRef: null,
    ref: null,
    topic: null,
  },
): DecodeResult {
  return { ok: false, error: { code, message, joinRef: address.joinRef, ref: address.ref, topic: address.topic } };
}

function isRef(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_NAME_LENGTH;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
