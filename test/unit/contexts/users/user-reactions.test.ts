import { describe, expect, it } from "vitest";
import { foldProfiles } from "../../../../src/contexts/users/projections/profiles/redis-profiles-store.js";
import { reactionsTo } from "../../../../src/contexts/users/user-reactions.js";

const meta = { eventId: "e1", occurredAt: 1_700_000_000_000, correlationId: "corr", causationId: null, actorId: "user-service", workspaceId: "w1" };
const profile = { displayName: "Alice", username: "alice", email: "a@example.com", avatarUrl: "https://img/a.png", timezone: null };

describe("the reactions to upstream user events", () => {
  it("disconnect a deleted user everywhere, revoking every token, and remove it from each of its conversations and channels, as the user service", () => {
    const reactions = reactionsTo({ type: "UserDeleted", data: { meta, userId: "alice" } }, { conversations: ["c1", "c2"], channels: ["ch1"] });
    const commandMeta = (what: string) => ({ commandId: `users:e1:${what}`, correlationId: "corr", actorId: "system:users", workspaceId: "w1", issuedAt: meta.occurredAt, replyTo: null });
    expect(reactions).toEqual([
      { context: "sessions", type: "DisconnectUser", key: "alice", command: { meta: commandMeta("disconnect"), userId: "alice", cause: "user_deleted", revokeTokens: true } },
      { context: "conversations", type: "RemoveMember", key: "c1", command: { meta: commandMeta("leave:c1"), conversationId: "c1", userId: "alice" } },
      { context: "conversations", type: "RemoveMember", key: "c2", command: { meta: commandMeta("leave:c2"), conversationId: "c2", userId: "alice" } },
      { context: "channels", type: "UnsubscribeUser", key: "ch1", command: { meta: commandMeta("unsubscribe:ch1"), channelId: "ch1", userId: "alice" } },
    ]);
  });

  it("give a created or updated user's display name and avatar to its presence, as the user service", () => {
    const update = {
      context: "presence",
      type: "UpdateProfile",
      key: "alice",
      command: {
        meta: { commandId: "users:e1:profile", correlationId: "corr", actorId: "system:users", workspaceId: "w1", issuedAt: meta.occurredAt, replyTo: null },
        userId: "alice",
        displayName: "Alice",
        avatarUrl: "https://img/a.png",
      },
    };
    expect(reactionsTo({ type: "UserCreated", data: { meta, userId: "alice", ...profile } }, { conversations: ["c1"], channels: ["ch1"] })).toEqual([update]);
    expect(reactionsTo({ type: "UserUpdated", data: { meta, userId: "alice", ...profile } }, { conversations: ["c1"], channels: ["ch1"] })).toEqual([update]);
  });
});

describe("the users read model's fold", () => {
  it("keeps each user's latest whole profile, without its email, and forgets a deleted user", () => {
    const record = (type: string, value: object) => ({ fullName: `quikchat.users.${type}`, value: { meta, ...value } });
    const profiles = foldProfiles([
      record("UserCreated", { userId: "alice", ...profile }),
      record("UserUpdated", { userId: "alice", ...profile, displayName: "Alice B." }),
      record("UserCreated", { userId: "bob", ...profile, displayName: "Bob" }),
      record("UserDeleted", { userId: "bob" }),
    ]);
    expect(Object.fromEntries(profiles)).toEqual({
      alice: { display_name: "Alice B.", username: "alice", email: "a@example.com", avatar_url: "https://img/a.png", timezone: null, workspace_id: "w1" },
      bob: null,
    });
  });
});
