import type { SmtpSettings } from "./smtp-mail-sender.js";

/** Services whose SMTP relay the mail sender reaches by name (`EMAIL_PROVIDER`). */
export type SmtpRelay = "sendgrid" | "mailgun";

/** What the relay's credentials are, by service. */
export interface RelayCredentials {
  /** SendGrid: an API key with the Mail Send permission (its SMTP user is the literal `apikey`). */
  readonly apiKey?: string;
  /** Mailgun: the domain's SMTP login (`postmaster@mg.example.com`) and its SMTP password. */
  readonly user?: string;
  readonly pass?: string;
  /** Mailgun's region: `eu` for domains hosted in the EU; `us` unless told. */
  readonly region?: "us" | "eu";
}

/**
 * The SMTP settings of a service's relay: SendGrid's `smtp.sendgrid.net` and Mailgun's
 * `smtp.mailgun.org` (`smtp.eu.mailgun.org` in the EU), both on port 587 with STARTTLS required.
 * `overrides` (host, port, TLS) point it elsewhere, as tests do. Throws naming the missing credential.
 */
export function smtpRelaySettings(relay: SmtpRelay, credentials: RelayCredentials, from: string, overrides: Partial<SmtpSettings> = {}): SmtpSettings {
  const submission = { port: 587, secure: false, requireTls: true, from };
  switch (relay) {
    case "sendgrid":
      if (credentials.apiKey === undefined || credentials.apiKey === "") throw new Error("SENDGRID_API_KEY: required with EMAIL_PROVIDER=sendgrid");
      return { ...submission, host: "smtp.sendgrid.net", auth: { user: "apikey", pass: credentials.apiKey }, ...overrides };
    case "mailgun":
      if (credentials.user === undefined || credentials.user === "" || credentials.pass === undefined || credentials.pass === "") {
        throw new Error("MAILGUN_SMTP_USER and MAILGUN_SMTP_PASSWORD: required with EMAIL_PROVIDER=mailgun");
      }
      return { ...submission, host: credentials.region === "eu" ? "smtp.eu.mailgun.org" : "smtp.mailgun.org", auth: { user: credentials.user, pass: credentials.pass }, ...overrides };
  }
}
