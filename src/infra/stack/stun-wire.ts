/** Just enough of STUN (RFC 5389) to ask a server for a Binding, and to read its answer. */
import type { Answer } from "./component.js";

const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
/** The SOFTWARE attribute: coturn names itself there, e.g. "Coturn-4.6.1 'Gorst'". */
const SOFTWARE = 0x8022;

/** A Binding request without attributes, carrying `transactionId` (12 bytes). */
export function bindingRequest(transactionId: Buffer): Buffer {
  if (transactionId.length !== 12) throw new Error("a STUN transaction id is 12 bytes");
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(BINDING_REQUEST, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return header;
}

/** The value of the first attribute of `type` in a whole STUN message, if any. */
function attribute(message: Buffer, type: number): Buffer | undefined {
  const end = Math.min(message.length, HEADER_BYTES + message.readUInt16BE(2));
  for (let at = HEADER_BYTES; at + 4 <= end; ) {
    const length = message.readUInt16BE(at + 2);
    if (message.readUInt16BE(at) === type) return message.subarray(at + 4, Math.min(end, at + 4 + length));
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return undefined;
}

/**
 * Whether `reply` is a STUN server's answer to the Binding request `transactionId` (success or
 * error: either proves a STUN server), with the version its SOFTWARE attribute tells, if any.
 */
export function bindingAnswer(reply: Buffer, transactionId: Buffer): Answer {
  if (reply.length < HEADER_BYTES || reply.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false };
  if (!reply.subarray(8, HEADER_BYTES).equals(transactionId)) return { ok: false };
  const type = reply.readUInt16BE(0);
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) return { ok: false };
  const software = attribute(reply, SOFTWARE)?.toString("utf8");
  const version = software === undefined ? undefined : /\d+\.\d+\.\d+/.exec(software)?.[0];
  return version === undefined ? { ok: true } : { ok: true, version };
}
