import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";

/** What a valid token says about its bearer. */
export interface VerifiedToken {
  /** `sub`. */
  readonly userId: string;
  /** `workspace_id`. */
  readonly workspaceId: string;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number;
  /** `iat`, seconds since the epoch, when the token says when it was issued. */
  readonly issuedAt: number | undefined;
  readonly claims: Readonly<JWTPayload>;
}

/**
 * Why a token was refused. Every code but `key_unavailable` and `revocation_unavailable` is the
 * bearer's fault (HTTP 401); those two mean the JWKS endpoint or the revocations could not be
 * read (HTTP 503, try again).
 */
export type TokenErrorCode =
  | "missing_token"
  | "malformed"
  | "unsupported_algorithm"
  | "invalid_signature"
  | "expired"
  | "not_yet_valid"
  | "invalid_claims"
  | "missing_claims"
  | "revoked"
  | "key_unavailable"
  | "revocation_unavailable";

export interface TokenError {
  readonly code: TokenErrorCode;
  /** Safe to show to the bearer: never contains the token or a key. */
  readonly message: string;
}

/** The HTTP status a refusal maps to, for the upgrade and for REST. */
export function tokenErrorStatus(code: TokenErrorCode): 401 | 503 {
  return code === "key_unavailable" || code === "revocation_unavailable" ? 503 : 401;
}

export type VerifyResult = { readonly ok: true; readonly token: VerifiedToken } | { readonly ok: false; readonly error: TokenError };

/** Verifies bearer tokens; shared by the socket upgrade and REST (`Authorization: Bearer`). */
export interface TokenVerifier {
  /** Never throws: a refused token is `{ok: false, error}`. */
  verify(token: string | undefined): Promise<VerifyResult>;
}

export interface JwtVerifierSettings {
  readonly jwtSecret: string;
  /** False when only asymmetric keys are configured: HS256 tokens are then refused. */
  readonly acceptHs256: boolean;
  readonly issuer?: string;
  readonly audience?: string;
  /** RS256 public key (SPKI PEM). */
  readonly publicKey?: string;
  /** RS256 keys by `kid`, fetched and cached by jose. */
  readonly jwksUrl?: string;
  /** Allowed clock skew for `exp`/`nbf`/`iat`; 5 s unless set. */
  readonly clockToleranceSeconds?: number;
}

/**
 * Builds the verifier: HS256 with `jwtSecret` (when accepted), RS256 with `publicKey` or the
 * keys at `jwksUrl`. The algorithm in the token's header only selects among these keys, so
 * `alg: none` and HMAC-with-the-public-key are refused. Requires `sub`, `workspace_id` (strings)
 * and `exp`; checks `iss`/`aud` when configured. Rejects (at startup) an unparsable public key.
 */
export async function createJwtVerifier(settings: JwtVerifierSettings): Promise<TokenVerifier> {
  const secret = settings.acceptHs256 ? new TextEncoder().encode(settings.jwtSecret) : undefined;
  // PEM keys passed through environment variables often carry their newlines as literal "\n".
  const publicKey: CryptoKey | undefined =
    settings.publicKey === undefined ? undefined : await importSPKI(settings.publicKey.replaceAll("\\n", "\n"), "RS256");
  const jwks = settings.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(settings.jwksUrl));

  const algorithms = [...(secret ? ["HS256"] : []), ...(publicKey || jwks ? ["RS256"] : [])];
  const resolveKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === "HS256" && secret) return secret;
    if (header.alg === "RS256") {
      if (jwks && (header.kid !== undefined || !publicKey)) return jwks(header, token);
      if (publicKey) return publicKey;
    }
    throw new errors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
  };

  return {
    async verify(token) {
      if (token === undefined || token === "") return refuse("missing_token", "no token given");
      try {
        // Header first: a token that is not even a JWS gets "malformed", not a key lookup.
        decodeProtectedHeader(token);
      } catch {
        return refuse("malformed", "not a JWT");
      }
      try {
        const { payload } = await jwtVerify(token, resolveKey, {
          algorithms,
          clockTolerance: settings.clockToleranceSeconds ?? 5,
          requiredClaims: ["exp"],
          ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
          ...(settings.audience === undefined ? {} : { audience: settings.audience }),
        });
        return claimsOf(payload);
      } catch (error) {
        return refusalFor(error);
      }
    },
  };
}

/** The prefix of the actor ids the service uses for itself. */
export const SYSTEM_ACTOR_PREFIX = "system:";

function claimsOf(payload: JWTPayload): VerifyResult {
  const workspaceId = payload.workspace_id;
  if (typeof payload.sub !== "string" || payload.sub === "") return refuse("missing_claims", "the token has no sub");
  // The service's own actors (timers, sweepers, operators, the upstream user service) are `system:…`: no token may act as one.
  if (payload.sub.startsWith(SYSTEM_ACTOR_PREFIX)) return refuse("invalid_claims", "the token's sub is reserved for the service");
  if (typeof workspaceId !== "string" || workspaceId === "") return refuse("missing_claims", "the token has no workspace_id");
  if (typeof payload.exp !== "number") return refuse("missing_claims", "the token has no exp");
  const issuedAt = typeof payload.iat === "number" ? payload.iat : undefined;
  return { ok: true, token: { userId: payload.sub, workspaceId, expiresAt: payload.exp, issuedAt, claims: payload } };
}

function refusalFor(error: unknown): VerifyResult {
  if (error instanceof errors.JWTExpired) return refuse("expired", "the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return refuse("missing_claims", `the token has no ${error.claim}`);
    if (error.claim === "nbf" || error.claim === "iat") return refuse("not_yet_valid", "the token is not valid yet");
    return refuse("invalid_claims", `the token's ${error.claim} is not accepted`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return refuse("unsupported_algorithm", "the token's algorithm is not accepted");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return refuse("invalid_signature", "the token's signature is not valid");
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return refuse("key_unavailable", "the signing keys are unavailable");
  }
  if (error instanceof errors.JOSEError) return refuse("malformed", "the token is not a valid JWT");
  // A JWKS fetch that failed at the network level surfaces as a plain error.
  return refuse("key_unavailable", "the signing keys are unavailable");
}

/** A refusal of a token. */
export function refuse(code: TokenErrorCode, message: string): VerifyResult {
  return { ok: false, error: { code, message } };
}
