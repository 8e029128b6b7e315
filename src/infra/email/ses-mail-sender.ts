import { SendEmailCommand, SESv2Client, SESv2ServiceException, type SESv2ClientConfig } from "@aws-sdk/client-sesv2";
import { createTransport } from "nodemailer";
import type { MailSender } from "../../platform/notifications/mail-sender.js";
import type { ProviderFailure } from "../../platform/notifications/provider-result.js";
import { networkFailure } from "../push/network-failure.js";
import { nodemailerMailSender } from "./nodemailer-mail-sender.js";

export interface SesSettings {
  /** The AWS region whose SES sends (`AWS_REGION`). */
  readonly region: string;
  /** Another server speaking SES v2 (tests, a VPC endpoint) instead of the region's. */
  readonly endpoint?: string;
  /** Absent: the AWS SDK's default credential chain (a role, `AWS_*` variables, profiles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The sender of every mail that names none; SES must have its address or domain verified. */
  readonly from: string;
  /** How long one request may take; 10 s unless told. */
  readonly timeoutMs?: number;
}

/** SES' refusals of the credentials rather than of the mail. */
const CREDENTIAL_ERRORS = new Set(["UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch", "AccessDeniedException", "ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationTokenException"]);
/** SES' ways of saying "not now". */
const THROTTLING_ERRORS = new Set(["TooManyRequestsException", "LimitExceededException", "ThrottlingException", "Throttling"]);

function sortFailure(error: unknown): ProviderFailure {
  if (!(error instanceof SESv2ServiceException)) return { outcome: "retry_later", reason: networkFailure(error) };
  const status = error.$metadata.httpStatusCode;
  const answer = { reason: error.name, ...(status !== undefined ? { status } : {}) };
  if (CREDENTIAL_ERRORS.has(error.name) || status === 403) return { outcome: "auth_failed", ...answer };
  if (THROTTLING_ERRORS.has(error.name) || status === 429 || (status !== undefined && status >= 500)) return { outcome: "retry_later", ...answer };
  return { outcome: "refused", ...answer };
}

/**
 * The {@link MailSender} of Amazon SES through its v2 API (`@aws-sdk/client-sesv2`): the mail is
 * composed as for SMTP and sent raw (`SendEmail` with `Content.Raw`), so its Message-ID and headers
 * survive; the SDK makes one attempt, the caller owns retries.
 */
export function openSesMailSender(settings: SesSettings): MailSender {
  const config: SESv2ClientConfig = { region: settings.region, maxAttempts: 1, requestHandler: { requestTimeout: settings.timeoutMs ?? 10_000 } };
  if (settings.endpoint !== undefined) config.endpoint = settings.endpoint;
  if (settings.credentials !== undefined) config.credentials = { accessKeyId: settings.credentials.accessKeyId, secretAccessKey: settings.credentials.secretAccessKey };
  const sesClient = new SESv2Client(config);
  const transport = createTransport({ SES: { sesClient, SendEmailCommand } });
  const sender = nodemailerMailSender(transport, { provider: "ses", from: settings.from, sortFailure });
  return {
    ...sender,
    async close() {
      await sender.close();
      sesClient.destroy();
    },
  };
}
