import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { SocketIdentity } from "../../../../src/platform/phoenix/channel.js";
import type { DispatchedCommand } from "../../../../src/platform/gateway/command-bus.js";
import { PRESENCE_LIMITS } from "../../../../src/contexts/presence/domain/decide.js";
import { PresenceTracker } from "../../../../src/contexts/presence/presence-tracker.js";
import { loadConfig } from "../../../../src/contexts/index.js";
import { eventually, testLogger } from "../../../support/test-config.js";

const identity = (userId: string, connectionId: string): SocketIdentity => ({ userId, workspaceId: "w1", connectionId, tokenExpiresAt: 0 });

/** A tracker whose commands Kafka refuses `refusals` times, then takes; `sent` lists them as taken. */
function trackerOf(refusals: number) {
  const sent: DispatchedCommand[] = [];
  const tracker = new PresenceTracker({
    commands: {
      dispatchAll: (_context, commands: readonly DispatchedCommand[]) => {
        if (refusals-- > 0) return Promise.reject(new Error("broker down"));
        sent.push(...commands);
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
  return { tracker, sent, drained: () => eventually(async () => (tracker.unsent === 0 ? true : undefined), 10_000, "the outbox to drain") };
}

describe("the presence tracker", () => {
  it("keeps every connect and close while Kafka refuses them, and sends them later in the order they happened", async () => {
    const { tracker, sent, drained } = trackerOf(2);
    tracker.opened(identity("alice", "c1"), { deviceId: null, platform: "web" });
    tracker.closed(identity("alice", "c1"), 1006);
    tracker.opened(identity("bob", "c2"), { deviceId: "phone", platform: "ios" });
    await drained();
    expect(sent.map(({ type, key }) => `${type}:${key}`)).toEqual(["ConnectClient:alice", "DisconnectClient:alice", "ConnectClient:bob"]);
    await tracker.close();
  });

  it("puts a socket's topics between its connect and its close, each join and leave once, and leaves them to the close when the socket closes", async () => {
    const { tracker, sent, drained } = trackerOf(1);
    const alice = identity("alice", "c1");
    tracker.opened(alice, { deviceId: null, platform: "web" });
    tracker.joinTopic(alice, "comments:v1");
    tracker.joinTopic(alice, "comments:v1");
    tracker.leaveTopic(alice, "comments:v1");
    tracker.leaveTopic(alice, "comments:v1");
    tracker.joinTopic(alice, "comments:v1");
    tracker.closed(alice, 1000);
    // The channel's own leave runs after the socket closed: the close has left the topic already.
    tracker.leaveTopic(alice, "comments:v1");
    tracker.joinTopic(alice, "comments:v2");
    await drained();
    expect(sent.map(({ type, command }) => [type, (command as { topic?: string }).topic])).toEqual([
      ["ConnectClient", undefined],
      ["JoinTopic", "comments:v1"],
      ["LeaveTopic", "comments:v1"],
      ["JoinTopic", "comments:v1"],
      ["DisconnectClient", undefined],
    ]);
    const ids = sent.map(({ command }) => (command as { meta: { commandId: string } }).meta.commandId);
    expect(new Set(ids).size).toBe(ids.length);
    await tracker.close();
  });

  it(`refuses a socket's topic after ${PRESENCE_LIMITS.maxTopicsPerConnection} with too_many_topics`, async () => {
    const { tracker, sent, drained } = trackerOf(0);
    const alice = identity("alice", "c1");
    tracker.opened(alice, { deviceId: null, platform: "web" });
    for (let index = 0; index < PRESENCE_LIMITS.maxTopicsPerConnection; index++) tracker.joinTopic(alice, `comments:${index}`);
    expect(() => tracker.joinTopic(alice, "comments:one-more")).toThrow(expect.objectContaining({ code: "too_many_topics" }));
    tracker.joinTopic(alice, "comments:0");
    tracker.leaveTopic(alice, "comments:0");
    tracker.joinTopic(alice, "comments:one-more");
    await drained();
    expect(sent.filter(({ type }) => type === "JoinTopic")).toHaveLength(PRESENCE_LIMITS.maxTopicsPerConnection + 1);
    await tracker.close();
  });
});
