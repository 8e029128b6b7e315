import type { DisconnectUser, RefreshConnections } from "../../platform/contract/generated/avro-types.js";
import type { CommandBus, IssuedBy } from "../../platform/gateway/command-bus.js";

/** The actor of the commands this context issues for an operator on the command line. */
export const OPERATOR_ACTOR = "system:operator";

/**
 * What backends and operators do to a user's live connections. Every call is a command on
 * `quikapp.sessions.commands`, decided by the sessions processor; the sockets are closed (or
 * extended) by every gateway once the sessions projection has the event, normally within
 * milliseconds of the answer, and by gateways that start later through the read model.
 * Calls reject with a `ServiceError`: `timeout` or `unavailable` (retry with the same
 * `commandId`: it is decided once), `not_found` for a refresh of a deleted user.
 */
export interface UserSessions {
  /**
   * Closes every socket of `userId` on every gateway (close code 4003, which clients reconnect
   * after). With `revokeTokens`, the user's tokens issued before the command (JWT `iat`, to the
   * second) are refused from then on, on the socket upgrade, on REST and on `access_token`
   * refreshes, until they expire: the client cannot reconnect before it has a newer token.
   * Resolves with the instant before which the user's tokens are refused (epoch ms; null when none).
   */
  disconnect(request: { readonly userId: string; readonly revokeTokens: boolean; readonly by: IssuedBy; readonly commandId?: string }): Promise<{ readonly tokensRevokedBefore: number | null }>;
  /**
   * Moves the end of the authentication of `userId`'s live connections (one with
   * `connectionId`, else every one) to `expiresAt` (epoch ms): each is closed with 4001 then
   * instead of at its token's `exp`, unless its client refreshes its token in band first. An
   * instant in the past closes them at once. Connections opened later keep their own token's `exp`.
   */
  refresh(request: {
    readonly userId: string;
    readonly connectionId?: string | null;
    readonly expiresAt: number;
    readonly by: IssuedBy;
    readonly commandId?: string;
  }): Promise<void>;
}

/** {@link UserSessions} over the command bus. */
export function sessionCommands(bus: CommandBus): UserSessions {
  return {
    async disconnect({ userId, revokeTokens, by, commandId }) {
      const command: DisconnectUser = { meta: bus.meta(by, commandId), userId, cause: "requested", revokeTokens };
      const result = await bus.request("sessions", "DisconnectUser", userId, command);
      return { tokensRevokedBefore: typeof result.tokensRevokedBefore === "number" ? result.tokensRevokedBefore : null };
    },
    async refresh({ userId, connectionId = null, expiresAt, by, commandId }) {
      const command: RefreshConnections = { meta: bus.meta(by, commandId), userId, connectionId, expiresAt };
      await bus.request("sessions", "RefreshConnections", userId, command);
    },
  };
}
