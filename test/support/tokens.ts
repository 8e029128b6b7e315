import { SignJWT } from "jose";

/** The HS256 secret end-to-end tests configure the service with. */
export const TEST_JWT_SECRET = "end-to-end-test-secret-0123456789abcdef";

/** A token for `userId` in `workspaceId`, valid for `ttlSeconds` (negative: already expired). */
export function tokenFor(userId: string, workspaceId = "w1", ttlSeconds = 3_600, secret = TEST_JWT_SECRET): Promise<string> {
  return new SignJWT({ workspace_id: workspaceId })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** A token of `userId` issued `ageSeconds` ago (so that a revocation now is after its second), valid for an hour. */
export function tokenIssuedAgo(userId: string, workspaceId: string, ageSeconds = 5): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ workspace_id: workspaceId })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuedAt(now - ageSeconds)
    .setExpirationTime(now + 3_600)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}
