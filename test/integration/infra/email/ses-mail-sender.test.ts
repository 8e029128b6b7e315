import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSesMailSender, type SesSettings } from "../../../../src/infra/email/ses-mail-sender.js";
import type { MailSender } from "../../../../src/platform/notifications/mail-sender.js";
import { startSesStandIn, type SesStandIn } from "../../../support/ses-stand-in.js";
import { freePort } from "../../../support/service-process.js";

const FROM = "QuikChat <notifications@quikchat.test>";
const REGION = "eu-west-1";
const recipient = () => `user-${randomBytes(4).toString("hex")}@example.test`;

describe("the SES mail sender against an HTTP server playing SES v2", () => {
  const credentials = { accessKeyId: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(30).toString("base64") };
  let ses: SesStandIn;
  const senders: MailSender[] = [];

  const sender = (overrides: Partial<SesSettings> = {}): MailSender => {
    const opened = openSesMailSender({ region: REGION, endpoint: ses.url, credentials, from: FROM, ...overrides });
    senders.push(opened);
    return opened;
  };

  beforeAll(async () => {
    ses = await startSesStandIn({ ...credentials, region: REGION });
  });

  afterAll(async () => {
    await Promise.all(senders.map((opened) => opened.close()));
    await ses.close();
  });

  it("sends the composed mail raw, signed with the key pair, keeping its Message-ID and headers", async () => {
    const to = recipient();
    const result = await sender().send({
      to,
      subject: "2 new messages",
      text: "Ada: lunch?",
      html: "<p>Ada: lunch?</p>",
      messageId: "<digest-u2-7@quikchat.test>",
      headers: { "List-Unsubscribe": "<https://quikchat.test/unsubscribe/u2>" },
    });

    expect(result).toMatchObject({ outcome: "delivered" });
    const mail = ses.received.find((received) => received.to.includes(to));
    expect(result).toMatchObject({ response: mail?.messageId });
    expect(mail?.parsed.subject).toBe("2 new messages");
    expect(mail?.parsed.text?.trim()).toBe("Ada: lunch?");
    expect(mail?.parsed.html).toContain("<p>Ada: lunch?</p>");
    expect(mail?.parsed.messageId).toBe("<digest-u2-7@quikchat.test>");
    expect(mail?.parsed.from?.value).toEqual([{ name: "QuikChat", address: "notifications@quikchat.test" }]);
    expect(mail?.parsed.headerLines.find((header) => header.key === "list-unsubscribe")?.line).toBe("List-Unsubscribe: <https://quikchat.test/unsubscribe/u2>");
  });

  it("answers auth_failed for an unknown key or a wrong secret", async () => {
    const unknownKey = sender({ credentials: { ...credentials, accessKeyId: "AKIAUNKNOWN000000000" } });
    const wrongSecret = sender({ credentials: { ...credentials, secretAccessKey: "not-the-secret" } });

    expect(await unknownKey.send({ to: recipient(), subject: "x", text: "x" })).toEqual({ outcome: "auth_failed", status: 403, reason: "UnrecognizedClientException" });
    expect(await wrongSecret.send({ to: recipient(), subject: "x", text: "x" })).toEqual({ outcome: "auth_failed", status: 403, reason: "InvalidSignatureException" });
  });

  it("answers retry_later when throttled or unreachable, and refused for a rejected message", async () => {
    const mail = sender();
    const rejected = recipient();
    ses.reject(rejected);
    ses.throttleNext();

    expect(await mail.send({ to: recipient(), subject: "x", text: "x" })).toEqual({ outcome: "retry_later", status: 429, reason: "TooManyRequestsException" });
    expect(await mail.send({ to: rejected, subject: "x", text: "x" })).toEqual({ outcome: "refused", status: 400, reason: "MessageRejected" });
    const nowhere = sender({ endpoint: `http://127.0.0.1:${await freePort()}` });
    expect(await nowhere.send({ to: recipient(), subject: "x", text: "x" })).toEqual({ outcome: "retry_later", reason: "ECONNREFUSED" });
  });
});
