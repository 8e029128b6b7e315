/** The fields of a Google service-account key file (`FIREBASE_SERVICE_ACCOUNT`) the FCM client uses. */
export interface ServiceAccount {
  readonly projectId: string;
  readonly clientEmail: string;
  /** PKCS#8 PEM of the account's RSA key. */
  readonly privateKey: string;
  /** The key's id: the assertion's `kid`, when the file has one. */
  readonly privateKeyId?: string;
  /** Where access tokens are obtained (`https://oauth2.googleapis.com/token` in Google's files). */
  readonly tokenUri: string;
}

/** The service-account key file is unusable; the message names what is missing. */
export class ServiceAccountError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServiceAccountError";
  }
}

const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/**
 * Reads a service-account key file's JSON (as the Firebase console downloads it). `token_uri` is
 * honoured when present (Google's own otherwise). Throws a {@link ServiceAccountError} naming the
 * first field that is missing or of the wrong kind.
 */
export function parseServiceAccount(json: string): ServiceAccount {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ServiceAccountError("FIREBASE_SERVICE_ACCOUNT: not JSON (expected the service account's key file)", { cause: error });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ServiceAccountError("FIREBASE_SERVICE_ACCOUNT: expected a JSON object");
  const fields = raw as Record<string, unknown>;
  const text = (name: string, required: boolean): string | undefined => {
    const value = fields[name];
    if (typeof value === "string" && value !== "") return value;
    if (value === undefined && !required) return undefined;
    throw new ServiceAccountError(`FIREBASE_SERVICE_ACCOUNT: "${name}" must be a non-empty string`);
  };
  if (fields.type !== undefined && fields.type !== "service_account") throw new ServiceAccountError(`FIREBASE_SERVICE_ACCOUNT: "type" is ${JSON.stringify(fields.type)}, not "service_account"`);
  const tokenUri = text("token_uri", false) ?? GOOGLE_TOKEN_URI;
  if (!URL.canParse(tokenUri)) throw new ServiceAccountError(`FIREBASE_SERVICE_ACCOUNT: "token_uri" is not a URL`);
  const privateKeyId = text("private_key_id", false);
  return {
    projectId: text("project_id", true)!,
    clientEmail: text("client_email", true)!,
    privateKey: text("private_key", true)!,
    tokenUri,
    ...(privateKeyId !== undefined ? { privateKeyId } : {}),
  };
}
