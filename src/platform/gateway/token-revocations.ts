import { Port } from "../ports.js";
import { refuse, type TokenVerifier } from "./jwt-verifier.js";

/**
 * Where a gateway learns which tokens were revoked: a user's tokens issued before an instant
 * are refused until they expire (a user disconnected with its tokens revoked, or deleted).
 */
export interface TokenRevocations {
  /**
   * The instant (epoch milliseconds) before which `userId`'s tokens are refused, or undefined
   * when none are. Reflects every revocation decided and projected so far, on every gateway
   * (it is read from the shared read model, not cached). Rejects when it cannot be read.
   */
  revokedBefore(userId: string): Promise<number | undefined>;
}

/** The revocations of this process, when a context provides them (read at each verification). */
export const TOKEN_REVOCATIONS = new Port<TokenRevocations>("the token revocations");

/**
 * Whether a token issued at `issuedAt` (seconds; undefined when the token does not say) is
 * refused by a revocation at `revokedBefore` (epoch ms). `iat` has a precision of one second,
 * so a token issued in the second of the revocation is still accepted (a fresh token must
 * work at once); a token without `iat` is refused whenever its user has a revocation.
 */
export function isRevoked(issuedAt: number | undefined, revokedBefore: number | undefined): boolean {
  if (revokedBefore === undefined) return false;
  return issuedAt === undefined || issuedAt < Math.floor(revokedBefore / 1000);
}

/**
 * `verifier`, refusing also the tokens that `revocations()` revoked (`revoked`), or
 * `revocation_unavailable` when they cannot be read. Without revocations (no context provides
 * them in this process), tokens are only verified.
 */
export function withRevocations(verifier: TokenVerifier, revocations: () => TokenRevocations | undefined): TokenVerifier {
  return {
    async verify(token) {
      const verified = await verifier.verify(token);
      const source = revocations();
      if (!verified.ok || source === undefined) return verified;
      let revokedBefore: number | undefined;
      try {
        revokedBefore = await source.revokedBefore(verified.token.userId);
      } catch {
        return refuse("revocation_unavailable", "the token revocations cannot be read");
      }
      return isRevoked(verified.token.issuedAt, revokedBefore) ? refuse("revoked", "the token has been revoked") : verified;
    },
  };
}
