import type { Transporter } from "nodemailer";
import type { Mail, MailResult, MailSender } from "../../platform/notifications/mail-sender.js";
import type { ProviderFailure } from "../../platform/notifications/provider-result.js";

/**
 * The {@link MailSender} over one nodemailer transport (SMTP, SES): composes the mail the same way
 * whatever carries it, and leaves sorting the transport's failures to `sortFailure`.
 */
export function nodemailerMailSender(transport: Transporter, o: { readonly provider: string; readonly from: string; readonly sortFailure: (error: unknown) => ProviderFailure }): MailSender {
  let closed = false;
  return {
    provider: o.provider,

    async send(mail: Mail): Promise<MailResult> {
      if (closed) return { outcome: "retry_later", reason: "sender closed" };
      try {
        const info = (await transport.sendMail({
          from: mail.from ?? o.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html !== undefined ? { html: mail.html } : {}),
          ...(mail.replyTo !== undefined ? { replyTo: mail.replyTo } : {}),
          ...(mail.messageId !== undefined ? { messageId: mail.messageId } : {}),
          ...(mail.headers !== undefined ? { headers: { ...mail.headers } } : {}),
        })) as { messageId: string; response: string };
        return { outcome: "delivered", id: info.messageId, response: info.response };
      } catch (error) {
        return o.sortFailure(error);
      }
    },

    close(): Promise<void> {
      closed = true;
      transport.close();
      return Promise.resolve();
    },
  };
}
