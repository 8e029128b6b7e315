import { describe, it } from "vitest";
import type { SessionCommand } from "../../../../src/contexts/users/domain/commands.js";
import { sessionDecider } from "../../../../src/contexts/users/domain/decide.js";
import type { DecidedSessionEvent } from "../../../../src/contexts/users/domain/events.js";
import type { DisconnectCause } from "../../../../src/platform/contract/generated/avro-types.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const T0 = 1_700_000_000_000;
const spec = deciderSpec(sessionDecider);

const disconnect = (options: { revokeTokens?: boolean; cause?: DisconnectCause; issuedAt?: number } = {}): SessionCommand => ({
  type: "DisconnectUser",
  data: { meta: commandMeta({ actorId: "system:operator", issuedAt: options.issuedAt ?? T0 }), userId: "alice", cause: options.cause ?? "requested", revokeTokens: options.revokeTokens ?? false },
});
const refresh = (expiresAt: number, connectionId: string | null = null): SessionCommand => ({
  type: "RefreshConnections",
  data: { meta: commandMeta({ actorId: "system:operator", issuedAt: T0 }), userId: "alice", connectionId, expiresAt },
});
const disconnected = (tokensRevokedBefore: number | null, cause: DisconnectCause = "requested"): DecidedSessionEvent => ({
  type: "UserDisconnected",
  data: { userId: "alice", cause, tokensRevokedBefore },
});

describe("sessions decider", () => {
  describe("when nothing was decided about the user", () => {
    it("disconnects it without revoking its tokens", () => {
      spec.given([]).when(disconnect()).then([disconnected(null)]);
    });

    it("disconnects it and revokes the tokens issued before the command when asked", () => {
      spec.given([]).when(disconnect({ revokeTokens: true })).then([disconnected(T0)]);
    });

    it("always revokes when the user was deleted", () => {
      spec.given([]).when(disconnect({ cause: "user_deleted" })).then([disconnected(T0, "user_deleted")]);
    });

    it("refreshes its connections, one or all", () => {
      spec.given([]).when(refresh(T0 + 60_000, "k1")).then([{ type: "ConnectionsRefreshed", data: { userId: "alice", connectionId: "k1", expiresAt: T0 + 60_000 } }]);
      spec.given([]).when(refresh(T0 + 60_000)).then([{ type: "ConnectionsRefreshed", data: { userId: "alice", connectionId: null, expiresAt: T0 + 60_000 } }]);
    });
  });

  describe("when the user's tokens were revoked", () => {
    const revoked = [disconnected(T0)];

    it("keeps the revocation through a disconnect that does not revoke", () => {
      spec.given(revoked).when(disconnect({ issuedAt: T0 + 5_000 })).then([disconnected(T0)]);
    });

    it("moves the revocation forward, never back", () => {
      spec.given(revoked).when(disconnect({ revokeTokens: true, issuedAt: T0 + 5_000 })).then([disconnected(T0 + 5_000)]);
      spec.given(revoked).when(disconnect({ revokeTokens: true, issuedAt: T0 - 5_000 })).then([disconnected(T0)]);
    });
  });

  describe("when the user was deleted", () => {
    const deleted = [disconnected(T0, "user_deleted")];

    it("does nothing more to its connections", () => {
      spec.given(deleted).when(disconnect({ revokeTokens: true, issuedAt: T0 + 5_000 })).thenNothingHappened();
      spec.given(deleted).when(disconnect({ cause: "user_deleted", issuedAt: T0 + 5_000 })).thenNothingHappened();
    });

    it("refuses to refresh its connections", () => {
      spec.given(deleted).when(refresh(T0 + 60_000)).thenThrows("not_found");
    });
  });
});
