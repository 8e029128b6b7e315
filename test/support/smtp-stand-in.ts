import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { STAND_IN_CERT, STAND_IN_KEY } from "./test-tls.js";

/** A mail the server accepted, parsed, with the session it came in. */
export interface ReceivedMail {
  readonly parsed: ParsedMail;
  /** The SMTP envelope: MAIL FROM and RCPT TO. */
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
  /** The user that authenticated, if any. */
  readonly user: string | undefined;
  /** Whether the session was TLS (implicit or after STARTTLS). */
  readonly secure: boolean;
}

export interface SmtpStandInOptions {
  /** The only credentials AUTH accepts; without them, no authentication is asked. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** TLS from the first byte (465); otherwise STARTTLS is offered (587). */
  readonly secure?: boolean;
}

export interface SmtpStandIn {
  readonly port: number;
  readonly received: ReceivedMail[];
  /** RCPT TO `address` is answered 550 (no such mailbox) from now on. */
  unknownMailbox(address: string): void;
  /** The next RCPT TO `address` is answered 451 (try again later). */
  deferNext(address: string): void;
  close(): Promise<void>;
}

const withCode = (message: string, responseCode: number): Error => Object.assign(new Error(message), { responseCode });

/**
 * A real SMTP server (npm `smtp-server`) on a free port of 127.0.0.1, with the test-only TLS
 * certificate for STARTTLS or implicit TLS, authentication (PLAIN/LOGIN) only over TLS, chosen
 * recipients refused, and every accepted mail parsed with `mailparser`.
 */
export async function startSmtpStandIn(o: SmtpStandInOptions = {}): Promise<SmtpStandIn> {
  const received: ReceivedMail[] = [];
  const unknown = new Set<string>();
  const deferred = new Set<string>();
  const server = new SMTPServer({
    secure: o.secure ?? false,
    key: STAND_IN_KEY,
    cert: STAND_IN_CERT,
    authOptional: o.auth === undefined,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === o.auth?.user && auth.password === o.auth?.pass) callback(null, { user: auth.username });
      else callback(withCode("5.7.8 Authentication credentials invalid", 535));
    },
    onRcptTo(address, _session, callback) {
      const to = address.address.toLowerCase();
      if (unknown.has(to)) return callback(withCode("5.1.1 Mailbox does not exist", 550));
      if (deferred.delete(to)) return callback(withCode("4.2.1 Mailbox busy, try again later", 451));
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          received.push({
            parsed,
            envelope: { from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((rcpt) => rcpt.address) },
            user: typeof session.user === "string" ? session.user : undefined,
            secure: session.secure,
          });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  server.on("error", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;

  return {
    port,
    received,
    unknownMailbox: (address) => unknown.add(address.toLowerCase()),
    deferNext: (address) => deferred.add(address.toLowerCase()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
