import type { DisconnectUser, RefreshConnections } from "../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../platform/domain/decider.js";
import { DomainError } from "../../../platform/domain/domain-error.js";
import type { SessionCommand } from "./commands.js";
import type { DecidedSessionEvent, SessionEvent } from "./events.js";
import { evolve, initialState, type SessionState } from "./state.js";

/**
 * The sessions aggregate of one user (key: userId): what the service decided about the user's
 * live connections and tokens, so that every gateway, and every gateway started later, acts
 * the same (the events reach them through the read model and its deltas).
 *
 * - disconnect (`requested`): `UserDisconnected`, every time (each is a new close of whatever is
 *   connected then); with `revokeTokens` the tokens issued before `issuedAt` are refused too. The
 *   revocation instant never moves back: the event carries the latest one (or null when none).
 * - disconnect (`user_deleted`): `UserDisconnected` revoking at `issuedAt`, whatever
 *   `revokeTokens` says; the user is deleted from then on, and every token of it is refused.
 * - A deleted user is not disconnected again (a no-op: it has no connections) and its
 *   connections are not refreshed (`not_found`).
 * - refresh: `ConnectionsRefreshed` with the new end of the connections' authentication.
 */
export const sessionDecider: Decider<SessionCommand, SessionEvent, SessionState> = {
  initialState,
  evolve,
  decide,
};

function decide(command: SessionCommand, state: SessionState): DecidedSessionEvent[] {
  switch (command.type) {
    case "DisconnectUser":
      return disconnect(command.data, state);
    case "RefreshConnections":
      return refresh(command.data, state);
    default:
      return unreachable(command);
  }
}

function disconnect(command: DisconnectUser, state: SessionState): DecidedSessionEvent[] {
  if (state.status === "deleted") return [];
  const { userId, cause } = command;
  const revokes = command.revokeTokens || cause === "user_deleted";
  const previous = state.tokensRevokedBefore;
  const tokensRevokedBefore = revokes ? Math.max(previous ?? 0, command.meta.issuedAt) : previous;
  return [{ type: "UserDisconnected", data: { userId, cause, tokensRevokedBefore } }];
}

function refresh(command: RefreshConnections, state: SessionState): DecidedSessionEvent[] {
  if (state.status === "deleted") throw new DomainError("not_found", "no such user");
  const { userId, connectionId, expiresAt } = command;
  return [{ type: "ConnectionsRefreshed", data: { userId, connectionId, expiresAt } }];
}
