import type { Logger } from "../../infra/log/logger.js";
import { parseMessage, type ChannelSource } from "../../platform/gateway/pubsub-hub.js";
import type { ConnectionRegistry } from "../../platform/phoenix/connection-registry.js";
import type { SessionDelta } from "./projections/sessions/sessions-model.js";

/**
 * Carries out, on this gateway, what the sessions projection announces: closes every socket of
 * a disconnected user (`disconnected`, 4003; `userDeleted`, 1000, for a deleted user), or moves
 * the end of its sockets' authentication. Resolves once it follows `channel`; the function it
 * resolves with stops following. A delta lost while Redis was away is not replayed: the
 * revocations, read on every verification, still refuse the tokens they revoke.
 */
export function enforceSessions(hub: ChannelSource, channel: string, connections: ConnectionRegistry, logger: Logger): Promise<() => void> {
  return hub.listen(channel, {
    onMessage: (message) => {
      const delta = parseMessage<SessionDelta>(message, channel, logger);
      if (delta === undefined) return;
      const sockets = connections.connectionsOf(delta.userId);
      if (delta.kind === "disconnect") {
        const reason = delta.cause === "user_deleted" ? "userDeleted" : "disconnected";
        for (const socket of sockets) void socket.close(reason);
      } else if (delta.kind === "refresh") {
        const expiresAt = Math.floor(delta.expiresAt / 1000);
        for (const socket of sockets) if (delta.connectionId === null || socket.connectionId === delta.connectionId) socket.extend(expiresAt);
      }
      if (sockets.length > 0) logger.info({ userId: delta.userId, kind: delta.kind, sockets: sockets.length }, "session change carried out");
    },
    onResync: () => undefined,
  });
}
