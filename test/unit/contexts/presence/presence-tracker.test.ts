import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { SocketIdentity } from "../../../../src/platform/phoenix/channel.js";
import type { DispatchedCommand } from "../../../../src/platform/gateway/command-bus.js";
import { PresenceTracker } from "../../../../src/contexts/presence/presence-tracker.js";
import { loadConfig } from "../../../../src/contexts/index.js";
import { eventually, testLogger } from "../../../support/test-config.js";

const identity = (userId: string, connectionId: string): SocketIdentity => ({ userId, workspaceId: "w1", connectionId, tokenExpiresAt: 0 });

describe("the presence tracker", () => {
  it("keeps every connect and close while Kafka refuses them, and sends them later in the order they happened", async () => {
    let refusals = 2;
    const sent: string[] = [];
    const tracker = new PresenceTracker({
      commands: {
        dispatchAll: (_context, commands: readonly DispatchedCommand[]) => {
          if (refusals-- > 0) return Promise.reject(new Error("broker down"));
          for (const { type, key } of commands) sent.push(`${type}:${key}`);
          return Promise.resolve();
        },
      },
      redis: {} as Redis,
      directory: { gatewayConnections: () => Promise.resolve(new Map()) },
      gatewayId: "g1",
      topicPrefix: "",
      settings: loadConfig({}).presence,
      logger: testLogger(),
    });
    tracker.opened(identity("alice", "c1"), { deviceId: null, platform: "web" });
    tracker.closed(identity("alice", "c1"), 1006);
    tracker.opened(identity("bob", "c2"), { deviceId: "phone", platform: "ios" });
    await eventually(async () => (tracker.unsent === 0 ? true : undefined), 10_000, "the outbox to drain");
    expect(sent).toEqual(["ConnectClient:alice", "DisconnectClient:alice", "ConnectClient:bob"]);
    await tracker.close();
  });
});
