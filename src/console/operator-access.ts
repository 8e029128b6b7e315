import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TokenVerifier } from "../platform/gateway/jwt-verifier.js";

/**
 * The JWT claim that makes its bearer an operator: an array of role names holding
 * {@link OPERATOR_ROLE} (`"roles": ["operator"]`). The token is verified like any other (the
 * gateway's verifier: signature, `exp`, `sub`, `workspace_id`, issuer and audience when set).
 */
export const OPERATOR_ROLE_CLAIM = "roles";
export const OPERATOR_ROLE = "operator";

/** The cookie holding the credential an operator signed in with (HttpOnly, SameSite=Strict, path /console). */
export const SESSION_COOKIE = "quikchat_console";

/** Who may use the console: an operator, or why not (401: no or a bad credential; 403: a valid token without the role; 503: keys unavailable). */
export type Access =
  | { readonly ok: true; readonly operator: string; readonly expiresAt: number | undefined }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly message: string };

/**
 * Checks a credential: the console key (compared in constant time) or a JWT whose
 * {@link OPERATOR_ROLE_CLAIM} holds {@link OPERATOR_ROLE}.
 */
export function operatorAccess(verifier: TokenVerifier, consoleKey: string | undefined): (credential: string | undefined) => Promise<Access> {
  const keyDigest = consoleKey === undefined ? undefined : digest(consoleKey);
  return async (credential) => {
    if (credential === undefined || credential === "") return { ok: false, status: 401, message: "sign in with an operator token or the console key" };
    if (keyDigest !== undefined && timingSafeEqual(digest(credential), keyDigest)) return { ok: true, operator: "console key", expiresAt: undefined };
    const result = await verifier.verify(credential);
    if (!result.ok) return { ok: false, status: result.error.code === "key_unavailable" ? 503 : 401, message: result.error.message };
    const roles = result.token.claims[OPERATOR_ROLE_CLAIM];
    if (!Array.isArray(roles) || !roles.includes(OPERATOR_ROLE)) {
      return { ok: false, status: 403, message: `${result.token.userId} is not an operator: the token's ${OPERATOR_ROLE_CLAIM} claim does not hold "${OPERATOR_ROLE}"` };
    }
    return { ok: true, operator: result.token.userId, expiresAt: result.token.expiresAt };
  };
}

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/** The credential of a request: `Authorization: Bearer …`, else the session cookie. */
export function credentialOf(headers: { readonly authorization?: string | undefined; readonly cookie?: string | undefined }): string | undefined {
  const bearer = headers.authorization?.startsWith("Bearer ") === true ? headers.authorization.slice("Bearer ".length).trim() : undefined;
  if (bearer !== undefined && bearer !== "") return bearer;
  for (const part of (headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name !== SESSION_COOKIE) continue;
    try {
      return decodeURIComponent(value.join("="));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The `Set-Cookie` value of a session holding `credential` until `expiresAt` (epoch seconds; 12 hours for the key); an empty one signs out. */
export function sessionCookie(credential: string, expiresAt: number | undefined, secure: boolean): string {
  const maxAge = credential === "" ? 0 : Math.max(0, (expiresAt ?? Math.floor(Date.now() / 1000) + 12 * 3_600) - Math.floor(Date.now() / 1000));
  return `${SESSION_COOKIE}=${encodeURIComponent(credential)}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
}

/**
 * Confirmations of the console's writes (replaying a dead letter, rebuilding a projection): a
 * first request gets a token naming the action and its target, valid for two minutes; only a
 * second request posting it back does the work. Tokens are HMACs with a key of this process,
 * so a confirmation returns to the gateway that asked for it.
 */
export class Confirmations {
  private readonly key = randomBytes(32);

  constructor(private readonly ttlMs = 120_000) {}

  /** A token confirming `action` on `target` (e.g. `replay`, `messages/0:12`). */
  issue(action: string, target: string, now = Date.now()): string {
    const expires = now + this.ttlMs;
    return `${expires}.${this.sign(action, target, expires)}`;
  }

  /** Whether `token` confirms `action` on `target` and has not expired. */
  check(token: string | undefined, action: string, target: string, now = Date.now()): boolean {
    const [expires, signature] = (token ?? "").split(".");
    if (expires === undefined || signature === undefined || !/^\d+$/.test(expires) || Number(expires) < now) return false;
    const expected = Buffer.from(this.sign(action, target, Number(expires)));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private sign(action: string, target: string, expires: number): string {
    return createHmac("sha256", this.key).update(`${action}\u0000${target}\u0000${expires}`).digest("base64url");
  }
}
