import { describe, expect, it } from "vitest";
import { ALL_TOPICS, CONTEXTS, TOPICS, topicKindsOf, topicSpec } from "../../../../src/platform/contract/topics.js";

describe("the topic catalog", () => {
  it("keeps the topic names analytics consumers already read", () => {
    expect(TOPICS.presence.events).toBe("quikapp.presence.events");
    expect(TOPICS.messages.events).toBe("quikapp.messages.events");
    expect(TOPICS.calls.events).toBe("quikapp.calls.events");
    expect(TOPICS.notifications.events).toBe("quikapp.notifications.events");
    expect(TOPICS.huddles.events).toBe("quikapp.huddles.events");
    expect(TOPICS.conversations.events).toBe("quikapp.conversations.events");
    expect(TOPICS.users.events).toBe("quikapp.users.events");
  });

  it("names commands, changelogs and dead letters after the context", () => {
    expect(TOPICS.messages.commands).toBe("quikapp.messages.commands");
    expect(TOPICS.messages.state).toBe("quikapp.messages.state");
    expect(TOPICS.messages.dlq).toBe("quikapp.messages.dlq");
  });

  it("gives the upstream users context its events topic and our dead letters only", () => {
    expect(Object.keys(TOPICS.users)).toEqual(["events", "dlq"]);
    // @ts-expect-error: users are produced upstream; there is no commands topic to write to.
    expect(TOPICS.users.commands).toBeUndefined();
    expect(ALL_TOPICS.filter((spec) => spec.context === "users").map((spec) => spec.name)).toEqual(["quikapp.users.events", "quikapp.users.dlq"]);
  });

  it("lists every topic once, with a spec matching its name", () => {
    expect(new Set(ALL_TOPICS.map((spec) => spec.name)).size).toBe(ALL_TOPICS.length);
    expect(ALL_TOPICS).toHaveLength(CONTEXTS.reduce((n, context) => n + topicKindsOf(context).length, 0));
    for (const spec of ALL_TOPICS) {
      expect(spec.name).toBe(`quikapp.${spec.context}.${spec.kind}`);
      expect(topicSpec(spec.name)).toBe(spec);
    }
    expect(topicSpec("quikapp.nope.events")).toBeUndefined();
  });

  it("compacts the changelogs and only them", () => {
    for (const spec of ALL_TOPICS) expect(spec.compacted, spec.name).toBe(spec.kind === "state");
  });

  it("marks the typing and both signaling contexts' topics ephemeral, and no others", () => {
    const ephemeral = new Set(ALL_TOPICS.filter((spec) => spec.ephemeral).map((spec) => spec.context));
    expect([...ephemeral].sort()).toEqual(["huddlesignaling", "signaling", "typing"]);
  });

  it("keys each context by its aggregate id", () => {
    const keys = Object.fromEntries(ALL_TOPICS.map((spec) => [spec.context, spec.keyField]));
    expect(keys).toEqual({
      messages: "conversationId", conversations: "conversationId", typing: "conversationId",
      presence: "userId", notifications: "userId", devices: "userId", users: "userId", sessions: "userId",
      calls: "callId", signaling: "callId", huddles: "huddleId", huddlesignaling: "huddleId", channels: "channelId", comments: "videoId",
    });
  });
});
