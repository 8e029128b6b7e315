import { importPKCS8, SignJWT, type CryptoKey } from "jose";
import { renewableCredential, type RenewableCredential } from "../push/renewable-credential.js";

/** APNs refuses a provider token older than an hour (`ExpiredProviderToken`): a new one is signed before. */
export const APNS_TOKEN_RENEW_AFTER_MS = 50 * 60_000;
/** APNs answers 429 `TooManyProviderTokenUpdates` to a team that signs new tokens more often than this. */
export const APNS_TOKEN_MIN_AGE_MS = 20 * 60_000;

/** The APNs signing key of a team: the contents of Apple's `AuthKey_<keyId>.p8`. */
export interface ApnsSigningKey {
  /** The key's id, ten characters (the `kid` header). */
  readonly keyId: string;
  /** The Apple developer team's id, ten characters (the `iss` claim). */
  readonly teamId: string;
  /** The PKCS#8 PEM of the P-256 private key (`-----BEGIN PRIVATE KEY-----…`). */
  readonly privateKey: string;
}

/** The signing key is unusable (not a PKCS#8 P-256 key, ids missing); the message says which. */
export class ApnsKeyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApnsKeyError";
  }
}

/**
 * The provider tokens of one signing key: an ES256 JWT with header `{alg: ES256, kid}` and claims
 * `{iss: teamId, iat}`, reused for every push until it is 50 minutes old. A token APNs refuses is
 * replaced at once, but a replacement is not itself replaced before it is 20 minutes old. Rejects
 * with an {@link ApnsKeyError} for a key it cannot use.
 */
export async function apnsProviderTokens(key: ApnsSigningKey, now: () => number): Promise<RenewableCredential> {
  if (!/^[A-Z0-9]{10}$/i.test(key.keyId)) throw new ApnsKeyError(`APNS_KEY_ID: expected the key's 10-character id, got ${JSON.stringify(key.keyId)}`);
  if (!/^[A-Z0-9]{10}$/i.test(key.teamId)) throw new ApnsKeyError(`APNS_TEAM_ID: expected the team's 10-character id, got ${JSON.stringify(key.teamId)}`);
  let signingKey: CryptoKey;
  try {
    signingKey = await importPKCS8(key.privateKey, "ES256");
  } catch (error) {
    throw new ApnsKeyError("APNS_KEY_PATH: not a PKCS#8 P-256 private key (the AuthKey_….p8 file Apple issues)", { cause: error });
  }
  const sign = async (nowMs: number) => {
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: key.keyId })
      .setIssuer(key.teamId)
      .setIssuedAt(Math.floor(nowMs / 1000))
      .sign(signingKey);
    return { value, renewAt: nowMs + APNS_TOKEN_RENEW_AFTER_MS };
  };
  return renewableCredential(sign, { now, renewalFloorMs: APNS_TOKEN_MIN_AGE_MS });
}
