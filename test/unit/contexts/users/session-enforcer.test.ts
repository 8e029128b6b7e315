import { describe, expect, it } from "vitest";
import { EVERY_TOKEN } from "../../../../src/contexts/users/projections/sessions/sessions-model.js";
import { enforceSessions } from "../../../../src/contexts/users/session-enforcer.js";
import { createLogger } from "../../../../src/infra/log/logger.js";
import type { ChannelListener } from "../../../../src/platform/gateway/pubsub-hub.js";
import { createConnectionRegistry } from "../../../../src/platform/phoenix/connection-registry.js";
import type { DisconnectReason } from "../../../../src/platform/phoenix/disconnect-reasons.js";

const silent = createLogger({ level: "silent", name: "test" });

/** A gateway's sockets (user, connection id, token iat) and what the enforcer did to them. */
async function gateway(sockets: readonly [userId: string, connectionId: string, issuedAt: number][], revoked: Record<string, number> = {}) {
  const registry = createConnectionRegistry({ maxConnectionsPerUser: 10 });
  const closed: string[] = [];
  const extended: string[] = [];
  for (const [userId, connectionId, issuedAt] of sockets) {
    registry.reserve(userId);
    registry.register({
      userId,
      connectionId,
      tokenIssuedAt: issuedAt,
      close: async (reason: DisconnectReason) => void closed.push(`${connectionId}:${reason}`),
      extend: (expiresAt) => void extended.push(`${connectionId}:${expiresAt}`),
    });
  }
  let listener: ChannelListener | undefined;
  const hub = { listen: async (_channel: string, added: ChannelListener) => ((listener = added), () => undefined) };
  await enforceSessions(hub, "deltas", registry, { revokedBefore: async (userId) => revoked[userId] }, silent);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { listener: listener!, closed, extended, settle };
}

describe("the session enforcer of a gateway", () => {
  it("closes every socket of a disconnected user, with 1000 for a deleted one", async () => {
    const g = await gateway([["alice", "a1", 10], ["alice", "a2", 10], ["bob", "b1", 10]]);
    g.listener.onMessage(JSON.stringify({ kind: "disconnect", userId: "alice", cause: "requested" }));
    g.listener.onMessage(JSON.stringify({ kind: "disconnect", userId: "bob", cause: "user_deleted" }));
    g.listener.onMessage("not json");
    expect(g.closed).toEqual(["a1:disconnected", "a2:disconnected", "b1:userDeleted"]);
  });

  it("extends one connection or every connection of a user, in seconds", async () => {
    const g = await gateway([["alice", "a1", 10], ["alice", "a2", 10]]);
    g.listener.onMessage(JSON.stringify({ kind: "refresh", userId: "alice", connectionId: "a2", expiresAt: 5_999 }));
    g.listener.onMessage(JSON.stringify({ kind: "refresh", userId: "alice", connectionId: null, expiresAt: 9_000 }));
    expect(g.extended).toEqual(["a2:5", "a1:9", "a2:9"]);
  });

  it("after a pub/sub outage, closes the sockets whose tokens were revoked meanwhile, and only those", async () => {
    const g = await gateway([["alice", "a1", 10], ["alice", "a2", 30], ["bob", "b1", 10], ["carol", "c1", 10]], { alice: 20_000, carol: EVERY_TOKEN });
    g.listener.onResync();
    await g.settle();
    expect(g.closed.sort()).toEqual(["a1:disconnected", "c1:userDeleted"]);
  });
});
