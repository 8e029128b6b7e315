import { importPKCS8, SignJWT, type CryptoKey } from "jose";
import { networkFailure } from "../push/network-failure.js";
import { CredentialFailure, renewableCredential, type RenewableCredential } from "../push/renewable-credential.js";
import { isTemporaryStatus, retryLater } from "../push/retry-after.js";
import { ServiceAccountError, type ServiceAccount } from "./service-account.js";

/** The OAuth2 scope of FCM's HTTP v1 API. */
export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
/** An access token is replaced this long before it expires, so none expires on its way. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
/** A token obtained because FCM refused the previous one is not replaced again for this long. */
const RENEWAL_FLOOR_MS = 60_000;

/**
 * The OAuth2 access tokens of one service account (RFC 7523 JWT bearer grant): an RS256 assertion
 * `{iss: client_email, scope: firebase.messaging, aud: token_uri, iat, exp: iat + 1 h}` signed with
 * the account's key and posted to its `token_uri`; each token is reused until 5 minutes before it
 * expires. Issuing fails with a `CredentialFailure`: `auth_failed` when the token endpoint refuses
 * the assertion (`invalid_grant`…), `retry_later` when it cannot be reached or answers 429/5xx.
 * Rejects with a {@link ServiceAccountError} for a key it cannot use.
 */
export async function fcmAccessTokens(account: ServiceAccount, o: { readonly now: () => number; readonly timeoutMs: number }): Promise<RenewableCredential> {
  let key: CryptoKey;
  try {
    key = await importPKCS8(account.privateKey, "RS256");
  } catch (error) {
    throw new ServiceAccountError(`FIREBASE_SERVICE_ACCOUNT: "private_key" is not a PKCS#8 RSA private key`, { cause: error });
  }

  async function issue(nowMs: number) {
    const iat = Math.floor(nowMs / 1000);
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(account.privateKeyId !== undefined ? { kid: account.privateKeyId } : {}) })
      .setIssuer(account.clientEmail)
      .setAudience(account.tokenUri)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(key);
    let response: Response;
    try {
      response = await fetch(account.tokenUri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (error) {
      throw new CredentialFailure({ outcome: "retry_later", reason: `token endpoint: ${networkFailure(error)}` }, { cause: error });
    }
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
    if (response.ok && typeof body.access_token === "string") {
      const lifetimeMs = (typeof body.expires_in === "number" ? body.expires_in : 3600) * 1000;
      return { value: body.access_token, renewAt: nowMs + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2) };
    }
    const reason = `token endpoint: ${typeof body.error === "string" ? body.error : `HTTP ${response.status}`}`;
    const status = response.status;
    if (isTemporaryStatus(status)) throw new CredentialFailure(retryLater(status, reason, response.headers.get("retry-after") ?? undefined, o.now()));
    throw new CredentialFailure({ outcome: "auth_failed", status, reason });
  }

  return renewableCredential(issue, { now: o.now, renewalFloorMs: RENEWAL_FLOOR_MS });
}
