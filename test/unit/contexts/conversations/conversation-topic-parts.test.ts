import { describe, expect, it } from "vitest";
import { ConversationTopicParts, type OpenConversationTopicPart } from "../../../../src/contexts/conversations/channels/conversation-topic-parts.js";
import type { ChannelOutlet, SocketIdentity } from "../../../../src/platform/phoenix/channel.js";

const identity: SocketIdentity = { userId: "alice", workspaceId: "w1", connectionId: "c1", tokenExpiresAt: 0 };
const outlet: ChannelOutlet = { push: () => undefined, close: () => undefined };
const topic = { dialect: "chat:", conversationId: "conv-1" } as const;

describe("conversation topic parts", () => {
  it("opens every part on a joined topic and hands each client event to the part that handles it", async () => {
    const opened: string[] = [];
    const left: string[] = [];
    const part =
      (name: string, event: string): OpenConversationTopicPart =>
      (on, who) => {
        opened.push(`${name} ${on.dialect}${on.conversationId} ${who.userId}`);
        return Promise.resolve({ events: { [event]: () => Promise.resolve({ from: name }) }, leave: () => void left.push(name) });
      };
    const parts = new ConversationTopicParts();
    parts.add(part("huddles", "huddle:create"));
    parts.add(part("other", "other:thing"));
    const joined = await parts.open(topic, identity, outlet);
    expect(opened).toEqual(["huddles chat:conv-1 alice", "other chat:conv-1 alice"]);
    expect(await joined.handler("huddle:create")?.({})).toEqual({ from: "huddles" });
    expect(await joined.handler("other:thing")?.({})).toEqual({ from: "other" });
    expect(joined.handler("message:send")).toBeUndefined();
    expect(joined.handler("__proto__")).toBeUndefined();
    joined.leave();
    expect(left).toEqual(["huddles", "other"]);
  });

  it("closes the parts opened before one that fails, and fails the join", async () => {
    const left: string[] = [];
    const parts = new ConversationTopicParts();
    parts.add(() => Promise.resolve({ leave: () => void left.push("first") }));
    parts.add(() => Promise.reject(new Error("Redis is down")));
    await expect(parts.open(topic, identity, outlet)).rejects.toThrow(/Redis is down/);
    expect(left).toEqual(["first"]);
  });
});
