/**
 * The sessions read model in Redis (`<p>` = topic prefix):
 *
 * - `<p>sessions:revoked:<userId>`: the epoch milliseconds before which the user's tokens are
 *   refused (`UserDisconnected.tokensRevokedBefore`); for a deleted user
 *   {@link EVERY_TOKEN}, which refuses every token. Kept without expiry: a token may live
 *   as long as its issuer says, and a deleted user stays deleted.
 * - `<p>sessions:checkpoint`: the projection's checkpoint, written in the same MULTI/EXEC.
 *
 * What gateways must do at once goes out after each commit as a {@link SessionDelta} on
 * `<p>sessions:connections`, which every gateway follows.
 */
export const sessionKeys = (prefix: string) => ({
  checkpoint: `${prefix}sessions:checkpoint`,
  revoked: (userId: string) => `${prefix}sessions:revoked:${userId}`,
  deltas: `${prefix}sessions:connections`,
});

/** The revocation instant of a deleted user: later than any token's `iat`. */
export const EVERY_TOKEN = Number.MAX_SAFE_INTEGER;

/** What every gateway does to the user's sockets it holds: close them all, or move when their authentication ends. */
export type SessionDelta =
  | { readonly kind: "disconnect"; readonly userId: string; readonly cause: "requested" | "user_deleted" }
  | { readonly kind: "refresh"; readonly userId: string; readonly connectionId: string | null; readonly expiresAt: number };
