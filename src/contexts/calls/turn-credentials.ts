import { createHmac } from "node:crypto";

/** Credentials for a TURN server in coturn's REST-API scheme (`use-auth-secret`, draft-uberti-behave-turn-rest). */
export interface TurnCredentials {
  /** `<expiry in unix seconds>:<userId>`: the timestamp is when coturn starts refusing it, not when it was issued. */
  readonly username: string;
  /** base64 of the raw HMAC-SHA1 of `username` keyed by the server's static-auth-secret (not hex). */
  readonly credential: string;
}

/**
 * The credentials `userId` may use for `ttlSeconds` from `nowMs`, for a TURN server sharing
 * `secret`. Pure: the same arguments give the same credentials.
 */
export function turnCredentials(secret: string, userId: string, nowMs: number, ttlSeconds: number): TurnCredentials {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${userId}`;
  return { username, credential: createHmac("sha1", secret).update(username).digest("base64") };
}
