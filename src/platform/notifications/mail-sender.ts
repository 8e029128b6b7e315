import type { ProviderFailure } from "./provider-result.js";

/** One mail to one recipient (a digest of what a user missed), as the notifier composed it. */
export interface Mail {
  /** The recipient's address. */
  readonly to: string;
  readonly subject: string;
  /** The plain-text body; every mail has one. */
  readonly text: string;
  /** The HTML alternative, when the template has one. */
  readonly html?: string;
  /** The sender shown to the recipient; the sender's configured address unless told. */
  readonly from?: string;
  readonly replyTo?: string;
  /**
   * The `Message-ID` to give the mail (`<digest-…@host>`), so that a mail sent again after a crash is
   * recognisably the same one; one is generated otherwise.
   */
  readonly messageId?: string;
  /** More headers (`List-Unsubscribe`…). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The relay's answer: `delivered` means it accepted the mail for delivery (its `Message-ID` in `id`). */
export type MailResult = { readonly outcome: "delivered"; readonly id: string; readonly response: string } | ProviderFailure;

/**
 * Sends mail through one relay account (an SMTP server, SendGrid's or Mailgun's SMTP relay).
 *
 * - `send` never rejects: a refusal, a lost connection or a timeout is a {@link MailResult}
 *   (`auth_failed` for refused credentials, `retry_later` for SMTP 4xx and connection failures,
 *   `refused` for SMTP 5xx such as an unknown mailbox).
 * - It does not retry: the caller owns backoff and the record of what was sent.
 * - Concurrent sends share the relay's connections; `close` ends them after the sends in flight,
 *   and a `send` after `close` answers `retry_later`.
 */
export interface MailSender {
  /** Which relay this is, for metrics' `provider` label: `smtp`, `sendgrid`, `mailgun`. */
  readonly provider: string;
  send(mail: Mail): Promise<MailResult>;
  close(): Promise<void>;
}
