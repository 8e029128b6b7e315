import { tokenErrorStatus, type VerifiedToken, type VerifyResult } from "../gateway/jwt-verifier.js";
import type { ChannelReply, SocketIdentity } from "./channel.js";

/**
 * The client event that replaces a socket's token without reconnecting, on any joined topic:
 * `access_token {access_token}` (Supabase Realtime's convention over the Phoenix protocol).
 */
export const ACCESS_TOKEN_EVENT = "access_token";

/**
 * Why `next` may not replace the token a socket holds, or undefined when it may: it must name
 * the same user in the same workspace and expire later than the current one (a refresh never
 * shortens a connection's life, and never hands a socket to someone else). Pure.
 */
export function refreshRefusal(current: Pick<SocketIdentity, "userId" | "workspaceId" | "tokenExpiresAt">, next: VerifiedToken): string | undefined {
  if (next.userId !== current.userId) return "the token is for another user";
  if (next.workspaceId !== current.workspaceId) return "the token is for another workspace";
  if (next.expiresAt <= current.tokenExpiresAt) return "the token does not expire later than the socket's current one";
  return undefined;
}

/**
 * The reply to an `access_token` push whose token was verified as `verified`: `ok {expires_at}`
 * when it replaces the socket's token (then `accept` is called with the new token),
 * otherwise an error reply, `unauthorized` with the refusal as `message` (`unavailable` when the
 * keys or revocations could not be read: retry), and the socket keeps its current token.
 */
export function refreshReply(current: Pick<SocketIdentity, "userId" | "workspaceId" | "tokenExpiresAt">, verified: VerifyResult, accept: (token: VerifiedToken) => void): ChannelReply {
  if (!verified.ok) {
    const reason = tokenErrorStatus(verified.error.code) === 503 ? "unavailable" : "unauthorized";
    return { status: "error", response: { reason, message: verified.error.message } };
  }
  const refusal = refreshRefusal(current, verified.token);
  if (refusal !== undefined) return { status: "error", response: { reason: "unauthorized", message: refusal } };
  accept(verified.token);
  return { status: "ok", response: { expires_at: verified.token.expiresAt } };
}

/** The token of an `access_token` payload, or undefined when there is none to verify. */
export function accessTokenOf(payload: Record<string, unknown>): string | undefined {
  const token = payload.access_token;
  return typeof token === "string" && token !== "" ? token : undefined;
}
