import { createTransport } from "nodemailer";
import type { MailSender } from "../../platform/notifications/mail-sender.js";
import type { ProviderFailure } from "../../platform/notifications/provider-result.js";
import { nodemailerMailSender } from "./nodemailer-mail-sender.js";

/** Where and how to reach an SMTP relay (`SMTP_*`). */
export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465); otherwise plain, upgraded with STARTTLS when offered. */
  readonly secure: boolean;
  /** Refuse to send unless STARTTLS upgrades the connection (relays on port 587). */
  readonly requireTls?: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** The sender of every mail that names none (`Notifications <no-reply@example.com>`). */
  readonly from: string;
  /** Certificates to trust besides the system's (a test relay's self-signed one). */
  readonly ca?: string | Buffer;
  /** How long to wait for a connection, the greeting, or any reply; 10 s unless told. */
  readonly timeoutMs?: number;
  /** Connections kept open to the relay and shared by concurrent sends; 2 unless told. */
  readonly maxConnections?: number;
}

/** The fields nodemailer sets on the errors it rejects with. */
interface SmtpError extends NodeJS.ErrnoException {
  readonly responseCode?: number;
  readonly response?: string;
  readonly permanent?: boolean;
  readonly originalCode?: string;
}

/** Refusals of the relay that concern the credentials rather than the mail (RFC 4954). */
const AUTH_CODES = new Set([530, 534, 535, 538]);

/** The relay's refusal, or the failure to reach it, sorted. */
function sortFailure(error: SmtpError): ProviderFailure {
  const status = error.responseCode;
  const reason = error.response ?? error.originalCode ?? error.code ?? error.message;
  if (error.code === "EAUTH" || error.code === "ENOAUTH" || (status !== undefined && AUTH_CODES.has(status))) {
    return { outcome: "auth_failed", reason, ...(status !== undefined ? { status } : {}) };
  }
  if (status === undefined) return error.code === "EMESSAGE" || error.code === "ECONFIG" ? { outcome: "refused", reason } : { outcome: "retry_later", reason };
  return error.permanent === true ? { outcome: "refused", status, reason } : { outcome: "retry_later", status, reason };
}

/**
 * The {@link MailSender} of one SMTP relay through nodemailer's pooled SMTP transport. `provider`
 * names the relay for metrics (`smtp`, or the service whose relay it is: see `smtpRelaySettings`).
 */
export function openSmtpMailSender(settings: SmtpSettings, provider = "smtp"): MailSender {
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const transport = createTransport({
    pool: true,
    maxConnections: settings.maxConnections ?? 2,
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    requireTLS: settings.requireTls ?? false,
    ...(settings.auth !== undefined ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
    ...(settings.ca !== undefined ? { tls: { ca: settings.ca } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return nodemailerMailSender(transport, { provider, from: settings.from, sortFailure: (error) => sortFailure(error as SmtpError) });
}
