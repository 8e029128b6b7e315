import { describe, expect, it } from "vitest";
import type { ChannelFamily, ChannelOutlet, SocketIdentity } from "../../../../src/platform/phoenix/channel.js";
import { refuse } from "../../../../src/platform/phoenix/channel-replies.js";
import { conversationFamily, type ConversationActions, type MembershipCheck } from "../../../../src/contexts/conversations/channels/conversation-family.js";
import { ConversationSubscriptions } from "../../../../src/contexts/conversations/channels/conversation-subscriptions.js";
import { CHAT_DIALECT, CONVERSATION_DIALECT } from "../../../../src/contexts/conversations/channels/dialects.js";
import { ownTopicFamily, userFamily, type OpenUserChannelPart } from "../../../../src/platform/phoenix/identity-families.js";

const alice: SocketIdentity = { userId: "alice", workspaceId: "w1", connectionId: "k1", tokenExpiresAt: 0 };
const mallory: SocketIdentity = { userId: "mallory", workspaceId: "w2", connectionId: "k2", tokenExpiresAt: 0 };

/** alice is in c1 (workspace w1); nobody else is anywhere. */
const members = new Set(["c1/alice"]);
const membership: MembershipCheck = {
  isMember: (conversationId, userId, workspaceId) => Promise.resolve(members.has(`${conversationId}/${userId}`) && workspaceId === "w1"),
};
const left: string[] = [];
/** A context's part of `user:{id}`: greets on join, answers `ping`, and records its leave. */
const greeter: OpenUserChannelPart = (identity, out) => {
  out.push("hello", { userId: identity.userId });
  return Promise.resolve({ events: { ping: () => Promise.resolve({ status: "ok", response: { pong: identity.userId } }) }, leave: () => void left.push(identity.userId) });
};

const subscriptions = new ConversationSubscriptions();
const families: ChannelFamily[] = [
  conversationFamily(CHAT_DIALECT, { membership, subscriptions }),
  conversationFamily(CONVERSATION_DIALECT, { membership, subscriptions }),
  userFamily([greeter]),
  ownTopicFamily("presence:", (identity) => identity.workspaceId),
];

const closed: string[] = [];
const outlet = (topic: string): ChannelOutlet => ({ push: () => undefined, close: (reason) => void closed.push(`${topic}: ${reason}`) });

async function join(topic: string, who: SocketIdentity) {
  const family = families.find((f) => topic === f.prefix || topic.startsWith(f.prefix))!;
  return family.join(topic, {}, who, outlet(topic));
}

describe("who may join which topic", () => {
  it.each([
    ["chat:c1", "ok", "error"],
    ["conversation:c1", "ok", "error"],
    ["chat:c2", "error", "error"],
    ["chat:", "error", "error"],
    ["user:alice", "ok", "error"],
    ["user:mallory", "error", "ok"],
    ["presence:w1", "ok", "error"],
    ["presence:w2", "error", "ok"],
  ])("%s: alice %s, mallory (another workspace) %s", async (topic, forAlice, forMallory) => {
    for (const [who, expected] of [[alice, forAlice], [mallory, forMallory]] as const) {
      const result = await join(topic, who);
      expect(result.status).toBe(expected);
      if (result.status === "ok") await result.channel.leave();
    }
  });

  it("refuses without telling whether the conversation exists", async () => {
    expect(await join("chat:c1", mallory)).toEqual({ status: "error", response: { reason: "unauthorized" } });
    expect(await join("chat:does-not-exist", mallory)).toEqual({ status: "error", response: { reason: "unauthorized" } });
  });

  it("closes a removed member's conversation channels, and only theirs", async () => {
    const chat = await join("chat:c1", alice);
    const conversation = await join("conversation:c1", alice);
    expect(subscriptions.eject("c1", "bob", "removed")).toBe(0);
    expect(subscriptions.eject("c1", "alice", "removed")).toBe(2);
    expect(closed).toEqual(["chat:c1: removed", "conversation:c1: removed"]);
    if (chat.status === "ok") await chat.channel.leave();
    if (conversation.status === "ok") await conversation.channel.leave();
    expect(subscriptions.conversations()).toEqual([]);
  });

  it("checks membership again on every push, closing the channel of a removed member", async () => {
    // Message actions are refused by the processor (from the aggregate, here the same set of
    // members); typing is checked against the read model before it is handed over.
    const handled: string[] = [];
    const actions: ConversationActions = {
      handle: (action) => {
        handled.push(action);
        return Promise.resolve(members.has("c1/alice") ? { status: "ok", response: {} } : refuse("not_a_member"));
      },
    };
    const family = conversationFamily(CHAT_DIALECT, { membership, subscriptions, actions });
    for (const event of ["message:send", "typing:start"]) {
      closed.length = 0;
      const chat = await family.join("chat:c1", {}, alice, outlet("chat:c1"));
      if (chat.status !== "ok") throw new Error("join failed");
      members.delete("c1/alice");
      try {
        expect(await chat.channel.handleIn(event, { content: "hi" })).toEqual({ status: "error", response: { reason: "unauthorized" } });
        expect(closed).toEqual(["chat:c1: removed from the conversation"]);
      } finally {
        members.add("c1/alice");
        await chat.channel.leave();
      }
    }
    expect(handled).toEqual(["send"]);
  });

  it("maps each dialect's client events and answers unknown ones", async () => {
    const chat = await join("chat:c1", alice);
    if (chat.status !== "ok") throw new Error("join failed");
    expect(await chat.channel.handleIn("message:send", { content: "hi" })).toEqual({ status: "error", response: { reason: "not_available" } });
    expect(await chat.channel.handleIn("new_message", { content: "hi" })).toEqual({ status: "error", response: { reason: "unknown_event" } });
    expect(Object.values(CHAT_DIALECT.actions).sort()).toEqual(Object.values(CONVERSATION_DIALECT.actions).sort());
  });

  it("opens every context's part of the user's own channel and hands each client event to the part that handles it", async () => {
    const pushed: string[] = [];
    const family = families.find((f) => f.prefix === "user:")!;
    const user = await family.join("user:alice", {}, alice, { push: (event) => void pushed.push(event), close: () => undefined });
    if (user.status !== "ok") throw new Error("join failed");
    expect(pushed).toEqual(["hello"]);
    expect(await user.channel.handleIn("ping", {})).toEqual({ status: "ok", response: { pong: "alice" } });
    expect(await user.channel.handleIn("set_everything", {})).toEqual({ status: "error", response: { reason: "unknown_event" } });
    await user.channel.leave();
    expect(left).toContain("alice");
  });
});
