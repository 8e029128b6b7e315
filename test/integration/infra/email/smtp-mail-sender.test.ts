import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSmtpMailSender, type SmtpSettings } from "../../../../src/infra/email/smtp-mail-sender.js";
import { smtpRelaySettings } from "../../../../src/infra/email/smtp-relays.js";
import type { MailSender } from "../../../../src/platform/notifications/mail-sender.js";
import { freePort } from "../../../support/service-process.js";
import { startSmtpStandIn, type SmtpStandIn } from "../../../support/smtp-stand-in.js";
import { STAND_IN_CERT } from "../../../support/test-tls.js";

const FROM = "QuikChat <notifications@quikchat.test>";
const recipient = () => `user-${randomBytes(4).toString("hex")}@example.test`;

describe("the SMTP mail sender against a real SMTP server", () => {
  /** A relay on port 587's terms: STARTTLS, then AUTH. */
  let relay: SmtpStandIn;
  /** A relay on port 465's terms: TLS from the first byte. */
  let implicitTls: SmtpStandIn;
  const auth = { user: "notifier", pass: randomBytes(12).toString("hex") };
  const senders: MailSender[] = [];

  const sender = (overrides: Partial<SmtpSettings> = {}, provider?: string): MailSender => {
    const opened = openSmtpMailSender({ host: "127.0.0.1", port: relay.port, secure: false, requireTls: true, auth, from: FROM, ca: STAND_IN_CERT, ...overrides }, provider);
    senders.push(opened);
    return opened;
  };
  const mailsTo = (server: SmtpStandIn, address: string) => server.received.filter((mail) => mail.envelope.to.includes(address));

  beforeAll(async () => {
    relay = await startSmtpStandIn({ auth });
    implicitTls = await startSmtpStandIn({ auth, secure: true });
  });

  afterAll(async () => {
    await Promise.all(senders.map((opened) => opened.close()));
    await Promise.all([relay.close(), implicitTls.close()]);
  });

  it("delivers a digest with its text, HTML, headers and Message-ID, over STARTTLS after authenticating", async () => {
    const to = recipient();
    const result = await sender().send({
      to,
      subject: "3 new messages in #general",
      text: "Ada: lunch?\nGrace: yes",
      html: "<p><b>Ada</b>: lunch?</p><p><b>Grace</b>: yes</p>",
      messageId: "<digest-u1-42@quikchat.test>",
      headers: { "List-Unsubscribe": "<https://quikchat.test/unsubscribe/u1>" },
    });

    expect(result).toMatchObject({ outcome: "delivered", id: "<digest-u1-42@quikchat.test>", response: expect.stringMatching(/^250 /) });
    const [mail] = mailsTo(relay, to);
    expect(mail).toMatchObject({ user: auth.user, secure: true, envelope: { from: "notifications@quikchat.test", to: [to] } });
    expect(mail!.parsed.from?.value).toEqual([{ name: "QuikChat", address: "notifications@quikchat.test" }]);
    expect(mail!.parsed.subject).toBe("3 new messages in #general");
    expect(mail!.parsed.text?.trim()).toBe("Ada: lunch?\nGrace: yes");
    expect(mail!.parsed.html).toContain("<b>Grace</b>: yes");
    expect(mail!.parsed.messageId).toBe("<digest-u1-42@quikchat.test>");
    expect(mail!.parsed.headerLines.find((header) => header.key === "list-unsubscribe")?.line).toBe("List-Unsubscribe: <https://quikchat.test/unsubscribe/u1>");
  });

  it("delivers over implicit TLS (port 465's way) and shares its connections between concurrent sends", async () => {
    const tls = sender({ port: implicitTls.port, secure: true, requireTls: false });
    const to = Array.from({ length: 5 }, recipient);

    const results = await Promise.all(to.map((address, n) => tls.send({ to: address, subject: `digest ${n}`, text: `mail ${n}` })));

    expect(results.map((result) => result.outcome)).toEqual(to.map(() => "delivered"));
    expect(to.map((address) => mailsTo(implicitTls, address).map((mail) => mail.secure))).toEqual(to.map(() => [true]));
  });

  it("reaches SendGrid's and Mailgun's relays with their own login conventions", async () => {
    const key = `SG.${randomBytes(16).toString("hex")}`;
    const sendgrid = await startSmtpStandIn({ auth: { user: "apikey", pass: key } });
    const settings = smtpRelaySettings("sendgrid", { apiKey: key }, FROM, { host: "127.0.0.1", port: sendgrid.port, ca: STAND_IN_CERT });
    const viaSendgrid = openSmtpMailSender(settings, "sendgrid");
    try {
      const to = recipient();

      expect(await viaSendgrid.send({ to, subject: "hi", text: "hello" })).toMatchObject({ outcome: "delivered" });
      expect(mailsTo(sendgrid, to)).toMatchObject([{ user: "apikey", secure: true }]);
      expect(viaSendgrid.provider).toBe("sendgrid");
    } finally {
      await viaSendgrid.close();
      await sendgrid.close();
    }
    expect(smtpRelaySettings("sendgrid", { apiKey: key }, FROM)).toMatchObject({ host: "smtp.sendgrid.net", port: 587, secure: false, requireTls: true, auth: { user: "apikey", pass: key } });
    expect(smtpRelaySettings("mailgun", { user: "postmaster@mg.quikchat.test", pass: "p", region: "eu" }, FROM)).toMatchObject({ host: "smtp.eu.mailgun.org", port: 587, requireTls: true, auth: { user: "postmaster@mg.quikchat.test" } });
    expect(() => smtpRelaySettings("sendgrid", {}, FROM)).toThrow(/SENDGRID_API_KEY/);
    expect(() => smtpRelaySettings("mailgun", { user: "postmaster@mg.quikchat.test" }, FROM)).toThrow(/MAILGUN_SMTP_PASSWORD/);
  });

  it("answers auth_failed when the relay refuses the credentials", async () => {
    const to = recipient();
    expect(await sender({ auth: { user: auth.user, pass: "wrong" } }).send({ to, subject: "x", text: "x" })).toMatchObject({ outcome: "auth_failed", status: 535 });
    expect(mailsTo(relay, to)).toEqual([]);
  });

  it("answers refused for an unknown mailbox and retry_later for a deferral", async () => {
    const mail = sender();
    const unknown = recipient();
    const busy = recipient();
    relay.unknownMailbox(unknown);
    relay.deferNext(busy);

    expect(await mail.send({ to: unknown, subject: "x", text: "x" })).toMatchObject({ outcome: "refused", status: 550, reason: expect.stringContaining("Mailbox does not exist") });
    expect(await mail.send({ to: busy, subject: "x", text: "x" })).toMatchObject({ outcome: "retry_later", status: 451 });
    expect(await mail.send({ to: busy, subject: "x", text: "again" })).toMatchObject({ outcome: "delivered" });
  });

  it("answers retry_later when the relay cannot be reached or its certificate is not trusted", async () => {
    const nowhere = sender({ port: await freePort() });
    const untrusting = openSmtpMailSender({ host: "127.0.0.1", port: relay.port, secure: false, requireTls: true, auth, from: FROM });
    senders.push(untrusting);

    expect(await nowhere.send({ to: recipient(), subject: "x", text: "x" })).toMatchObject({ outcome: "retry_later", reason: "ECONNREFUSED" });
    expect(await untrusting.send({ to: recipient(), subject: "x", text: "x" })).toMatchObject({ outcome: "retry_later" });
  });
});
