import { SignJWT } from "jose";
import type { CoreConfig } from "../platform/config/core-config.js";
import { OPERATOR_ROLE_CLAIM } from "../console/operator-access.js";

/** Why `quikchat token` will not mint a token, in one line. */
export class TokenToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenToolError";
  }
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** A lifetime in seconds from `3600`, `90s`, `30m`, `1h` or `7d`; throws a {@link TokenToolError} otherwise. */
export function parseTtl(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || "s"]! : 0;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new TokenToolError(`--ttl ${text}: give seconds (3600) or a number with s, m, h or d (90m, 1h, 7d)`);
  }
  return seconds;
}

export interface TokenRequest {
  readonly userId: string;
  readonly workspaceId: string;
  readonly ttlSeconds: number;
  /** Roles for the `roles` claim (`operator` signs in to the console); none: no claim. */
  readonly roles?: readonly string[];
}

/**
 * A token a developer can connect with: HS256 with the configured `JWT_SECRET` (the development
 * key when unset), carrying what the gateway requires (`sub`, `workspace_id`, `exp`, plus `iss`
 * and `aud` when they are configured, and `roles` when asked). Refused in production, where tokens come from the
 * deployment's own auth service, and when the service accepts RS256 tokens only (no secret to
 * sign with).
 */
export async function developmentToken(config: Pick<CoreConfig, "service" | "auth">, request: TokenRequest, now = Date.now()): Promise<string> {
  if (config.service.env === "production") {
    throw new TokenToolError("token: refused with NODE_ENV=production; there, tokens come from your auth service (README: Tokens)");
  }
  if (!config.auth.acceptHs256) {
    throw new TokenToolError("token: the service accepts RS256 tokens only (JWT_PUBLIC_KEY or JWT_JWKS_URL, no JWT_SECRET); sign them with your private key");
  }
  if (request.userId.trim() === "" || request.workspaceId.trim() === "") throw new TokenToolError("token: the user id and the workspace must not be empty");
  const issuedAt = Math.floor(now / 1000);
  const roles = request.roles === undefined || request.roles.length === 0 ? {} : { [OPERATOR_ROLE_CLAIM]: [...request.roles] };
  let token = new SignJWT({ workspace_id: request.workspaceId, ...roles })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + request.ttlSeconds);
  if (config.auth.issuer !== undefined) token = token.setIssuer(config.auth.issuer);
  if (config.auth.audience !== undefined) token = token.setAudience(config.auth.audience);
  return token.sign(new TextEncoder().encode(config.auth.jwtSecret));
}
