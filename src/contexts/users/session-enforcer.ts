import type { Logger } from "../../infra/log/logger.js";
import { parseMessage, type ChannelSource } from "../../platform/gateway/pubsub-hub.js";
import { isRevoked, type TokenRevocations } from "../../platform/gateway/token-revocations.js";
import type { ConnectionRegistry } from "../../platform/phoenix/connection-registry.js";
import { EVERY_TOKEN, type SessionDelta } from "./projections/sessions/sessions-model.js";

/**
 * Carries out, on this gateway, what the sessions projection announces on `channel`: closes
 * every socket of a disconnected user (`disconnected`, 4003; `userDeleted`, 1000, for a deleted
 * user), or moves the end of its sockets' authentication. Deltas published while this gateway's
 * subscription was down are not replayed: once it is back, every socket whose token the
 * revocations refuse by then is closed as the lost delta would have closed it (a disconnect
 * without revocation, or a refresh, lost that way is not repaired). Resolves once it follows
 * `channel`; the function it resolves with stops following.
 */
export function enforceSessions(
  hub: ChannelSource,
  channel: string,
  connections: ConnectionRegistry,
  revocations: TokenRevocations,
  logger: Logger,
): Promise<() => void> {
  const apply = (delta: SessionDelta) => {
    const sockets = connections.connectionsOf(delta.userId);
    if (delta.kind === "disconnect") {
      const reason = delta.cause === "user_deleted" ? "userDeleted" : "disconnected";
      for (const socket of sockets) void socket.close(reason);
    } else if (delta.kind === "refresh") {
      const expiresAt = Math.floor(delta.expiresAt / 1000);
      for (const socket of sockets) if (delta.connectionId === null || socket.connectionId === delta.connectionId) socket.extend(expiresAt);
    }
    if (sockets.length > 0) logger.info({ userId: delta.userId, kind: delta.kind, sockets: sockets.length }, "session change carried out");
  };

  const recheck = async () => {
    const users = [...new Set(connections.all().map((socket) => socket.userId))];
    await Promise.all(
      users.map(async (userId) => {
        const revokedBefore = await revocations.revokedBefore(userId);
        const refused = connections.connectionsOf(userId).filter((socket) => isRevoked(socket.tokenIssuedAt, revokedBefore));
        for (const socket of refused) void socket.close(revokedBefore === EVERY_TOKEN ? "userDeleted" : "disconnected");
      }),
    );
  };

  return hub.listen(channel, {
    onMessage: (message) => {
      const delta = parseMessage<SessionDelta>(message, channel, logger);
      if (delta !== undefined) apply(delta);
    },
    onResync: () => {
      recheck().catch((error: unknown) => logger.warn({ err: error }, "revocations not checked again after a pub/sub outage"));
    },
  });
}
