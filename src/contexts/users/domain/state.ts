import { unreachable } from "../../../platform/domain/decider.js";
import type { SessionEvent } from "./events.js";

/** A user the service may serve: its tokens issued before `tokensRevokedBefore` (epoch ms, when set) are refused. */
export interface ActiveUser {
  readonly status: "active";
  readonly tokensRevokedBefore: number | null;
}

/** A user deleted upstream: every token of it is refused, and nothing more is done to its connections. */
export interface DeletedUser {
  readonly status: "deleted";
  readonly tokensRevokedBefore: number;
}

/** What the service decided about one user's connections. Plain JSON: it survives the changelog. */
export type SessionState = ActiveUser | DeletedUser;

export function initialState(): SessionState {
  return { status: "active", tokensRevokedBefore: null };
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: SessionState, event: SessionEvent): SessionState {
  switch (event.type) {
    case "UserDisconnected": {
      const { cause, tokensRevokedBefore } = event.data;
      const revokedBefore = Math.max(state.tokensRevokedBefore ?? 0, tokensRevokedBefore ?? 0);
      if (cause === "user_deleted") return { status: "deleted", tokensRevokedBefore: revokedBefore };
      if (state.status === "deleted") return state;
      return { status: "active", tokensRevokedBefore: revokedBefore === 0 ? null : revokedBefore };
    }
    case "ConnectionsRefreshed":
      return state;
    default:
      return unreachable(event);
  }
}
