/** Just enough of the MongoDB wire protocol to ask a server `isMaster` (OP_MSG, opcode 2013). */

const OP_MSG = 2013;

function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])]);
}

// `isMaster` rather than `hello`: mongo-java-server 1.47 does not know `hello`, every mongod still knows `isMaster`.
/** BSON for `{ isMaster: 1, $db: "admin" }`. */
function isMasterDocument(): Buffer {
  const int32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return b;
  };
  const db = cstring("admin");
  const body = Buffer.concat([
    Buffer.from([0x10]), cstring("isMaster"), int32(1),
    Buffer.from([0x02]), cstring("$db"), int32(db.length), db,
    Buffer.from([0x00]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** An OP_MSG carrying `isMaster`, with `requestId` in its header. */
export function isMasterRequest(requestId: number): Buffer {
  const doc = isMasterDocument();
  const header = Buffer.alloc(16 + 4 + 1);
  header.writeInt32LE(header.length + doc.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(OP_MSG, 12);
  header.writeUInt32LE(0, 16); // flag bits
  header.writeUInt8(0, 20); // section kind 0: the body document
  return Buffer.concat([header, doc]);
}

/** True once `received` holds the whole message its first four bytes announce. */
export function messageComplete(received: Buffer): boolean {
  return received.length >= 4 && received.length >= received.readInt32LE(0);
}

/** The numeric value of the top-level `ok` field in a BSON document at `from`, if any. */
function okValue(buf: Buffer, from: number): number | undefined {
  const name = Buffer.from("ok\0", "utf8");
  for (let at = buf.indexOf(name, from + 1); at > from; at = buf.indexOf(name, at + 1)) {
    const value = at + name.length;
    switch (buf[at - 1]) {
      case 0x01: return value + 8 <= buf.length ? buf.readDoubleLE(value) : undefined;
      case 0x10: return value + 4 <= buf.length ? buf.readInt32LE(value) : undefined;
      case 0x12: return value + 8 <= buf.length ? Number(buf.readBigInt64LE(value)) : undefined;
      case 0x08: return buf[value];
    }
  }
  return undefined;
}

/** True when `reply` is an OP_MSG answering `requestId` whose body says `ok: 1`. */
export function isMasterSucceeded(reply: Buffer, requestId: number): boolean {
  if (reply.length < 26 || reply.readInt32LE(12) !== OP_MSG || reply.readInt32LE(8) !== requestId) return false;
  return okValue(reply, 21) === 1;
}
