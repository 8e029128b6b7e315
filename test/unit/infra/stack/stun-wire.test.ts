import { describe, expect, it } from "vitest";
import { turnserverArgs } from "../../../../src/infra/stack/coturn-server.js";
import { bindingAnswer, bindingRequest } from "../../../../src/infra/stack/stun-wire.js";

const id = Buffer.from("0123456789ab");

/** A STUN message of `type` for `transactionId` with `attributes` ([type, value]), padded as on the wire. */
function message(type: number, transactionId: Buffer, attributes: [number, Buffer][] = [], cookie = 0x2112a442): Buffer {
  const body = Buffer.concat(
    attributes.map(([attribute, value]) => {
      const header = Buffer.alloc(4);
      header.writeUInt16BE(attribute, 0);
      header.writeUInt16BE(value.length, 2);
      return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    }),
  );
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(cookie, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, body]);
}

const xorMappedAddress = Buffer.from([0, 1, 0x21, 0x12, 0x5e, 0x12, 0xa4, 0x43]);

describe("STUN Binding", () => {
  it("asks with a bare request carrying the magic cookie and our transaction id", () => {
    expect(bindingRequest(id)).toEqual(message(0x0001, id));
    expect(() => bindingRequest(Buffer.alloc(8))).toThrow(/12 bytes/);
  });

  it("takes a success answer to our transaction as a STUN server, with the version coturn names (padding skipped)", () => {
    const software = Buffer.from("Coturn-4.6.1 'Gorst'!");
    expect(bindingAnswer(message(0x0101, id, [[0x0020, xorMappedAddress], [0x8022, software], [0x8028, Buffer.alloc(4)]]), id)).toEqual({ ok: true, version: "4.6.1" });
    expect(bindingAnswer(message(0x0101, id, [[0x0020, xorMappedAddress]]), id)).toEqual({ ok: true });
    expect(bindingAnswer(message(0x0111, id), id)).toEqual({ ok: true });
  });

  it("refuses anything else: another transaction, no magic cookie, a request, a short or foreign reply", () => {
    expect(bindingAnswer(message(0x0101, Buffer.from("ba9876543210")), id)).toEqual({ ok: false });
    expect(bindingAnswer(message(0x0101, id, [], 0x12345678), id)).toEqual({ ok: false });
    expect(bindingAnswer(message(0x0001, id), id)).toEqual({ ok: false });
    expect(bindingAnswer(Buffer.from("-ERR unknown command\r\n"), id)).toEqual({ ok: false });
    expect(bindingAnswer(Buffer.from("+OK"), id)).toEqual({ ok: false });
  });
});

describe("the stack's coturn command line", () => {
  const args = turnserverArgs({ host: "127.0.0.1", port: 3480, minPort: 49160, maxPort: 49200, dir: "/s/coturn-3480" }, "the-secret");

  it("reads no configuration file and keeps its pid file and database in its own folder", () => {
    expect(args[0]).toBe("-n");
    expect(args).toEqual(expect.arrayContaining(["--pidfile=/s/coturn-3480/turnserver.pid", "--userdb=/s/coturn-3480/turndb"]));
  });

  it("listens and relays on loopback, on its port and relay range, with REST-API credentials of its secret", () => {
    expect(args).toEqual(
      expect.arrayContaining([
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        "--listening-port=3480",
        "--min-port=49160",
        "--max-port=49200",
        "--use-auth-secret",
        "--static-auth-secret=the-secret",
        "--realm=quikchat",
        "--fingerprint",
      ]),
    );
  });

  it("serves no TLS, DTLS or CLI, and logs to its output", () => {
    expect(args).toEqual(expect.arrayContaining(["--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout", "--simple-log"]));
  });
});
