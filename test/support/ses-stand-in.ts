import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";

/** A mail SES accepted: the request's envelope and the raw message, parsed. */
export interface SesReceivedMail {
  readonly from: string | undefined;
  readonly to: readonly string[];
  readonly parsed: ParsedMail;
  readonly messageId: string;
}

export interface SesStandIn {
  /** `http://127.0.0.1:<port>`: the client's `endpoint`. */
  readonly url: string;
  readonly received: SesReceivedMail[];
  /** Why each refused request was refused (the SES error type). */
  readonly refusals: string[];
  /** Mail to `address` is answered 400 `MessageRejected`. */
  reject(address: string): void;
  /** The next request is answered 429 `TooManyRequestsException`. */
  throttleNext(): void;
  close(): Promise<void>;
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/**
 * Whether `request` carries a valid AWS Signature Version 4 for `secret`, recomputed from the
 * canonical request (method, path, query, the signed headers, the body's hash), the credential
 * scope (`<date>/<region>/ses/aws4_request`) and the signing key derived from the secret.
 */
function signatureValid(request: IncomingMessage, body: Buffer, o: { accessKeyId: string; secretAccessKey: string; region: string }): "ok" | "UnrecognizedClientException" | "InvalidSignatureException" {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(request.headers.authorization ?? "");
  if (match === null) return "InvalidSignatureException";
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as [string, string, string, string, string, string, string];
  if (accessKeyId !== o.accessKeyId) return "UnrecognizedClientException";
  if (region !== o.region || service !== "ses") return "InvalidSignatureException";
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date)) return "InvalidSignatureException";
  const url = new URL(request.url ?? "/", "http://stand-in");
  const query = [...url.searchParams].map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).sort().join("&");
  const headers = signedHeaders.split(";").map((name) => `${name}:${String(request.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonical = [request.method, url.pathname, query, headers, signedHeaders, String(request.headers["x-amz-content-sha256"] ?? sha256(body))].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${o.secretAccessKey}`, date), region), service), "aws4_request");
  const expected = hmac(key, toSign);
  return timingSafeEqual(expected, Buffer.from(signature, "hex")) ? "ok" : "InvalidSignatureException";
}

/** An SES v2 error answer, as restJson1 carries it. */
function refuse(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type, "x-amzn-requestid": randomBytes(16).toString("hex") });
  response.end(JSON.stringify({ message }));
}

/**
 * An HTTP server playing SES v2's `SendEmail` (`POST /v2/email/outbound-emails`) for one key pair
 * and region: it verifies the request's SigV4 signature, decodes the raw message and parses it
 * with `mailparser`, and answers `{MessageId}` or SES' errors.
 */
export async function startSesStandIn(o: { accessKeyId: string; secretAccessKey: string; region: string }): Promise<SesStandIn> {
  const received: SesReceivedMail[] = [];
  const refusals: string[] = [];
  const rejected = new Set<string>();
  let throttle = false;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const refused = (status: number, type: string, message: string) => {
      refusals.push(type);
      refuse(response, status, type, message);
    };
    if (request.method !== "POST" || request.url !== "/v2/email/outbound-emails") return refused(404, "NotFoundException", "Not Found");
    const signature = signatureValid(request, body, o);
    if (signature === "UnrecognizedClientException") return refused(403, signature, "The security token included in the request is invalid.");
    if (signature !== "ok") return refused(403, signature, "The request signature we calculated does not match the signature you provided.");
    if (throttle) {
      throttle = false;
      return refused(429, "TooManyRequestsException", "Maximum sending rate exceeded.");
    }
    const input = JSON.parse(body.toString("utf8")) as { FromEmailAddress?: string; Destination?: { ToAddresses?: string[] }; Content?: { Raw?: { Data?: string } } };
    const raw = input.Content?.Raw?.Data;
    if (raw === undefined) return refused(400, "BadRequestException", "Content.Raw.Data is required by this stand-in");
    const parsed = await simpleParser(Buffer.from(raw, "base64"));
    const to = input.Destination?.ToAddresses ?? (parsed.to === undefined ? [] : [parsed.to].flat().flatMap((group) => group.value.map((address) => address.address ?? "")));
    if (to.some((address) => rejected.has(address.toLowerCase()))) return refused(400, "MessageRejected", "Email address is not verified.");
    const messageId = `0100018c${randomBytes(20).toString("hex")}-000000`;
    received.push({ from: input.FromEmailAddress, to, parsed, messageId });
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ MessageId: messageId }));
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => refuse(response, 500, "InternalFailure", "Internal failure"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    refusals,
    reject: (address) => rejected.add(address.toLowerCase()),
    throttleNext: () => (throttle = true),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
