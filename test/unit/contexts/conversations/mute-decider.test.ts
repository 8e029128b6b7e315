import { describe, it } from "vitest";
import type { ConversationCommand } from "../../../../src/contexts/conversations/domain/membership/commands.js";
import { conversationDecider } from "../../../../src/contexts/conversations/domain/membership/decide.js";
import type { DecidedConversationEvent } from "../../../../src/contexts/conversations/domain/membership/events.js";
import { messagesDecider } from "../../../../src/contexts/conversations/domain/messages/decide.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(conversationDecider);
const NOW = 1_700_000_000_000;

const mute = (actorId: string, muted: boolean, mutedUntil: number | null = null, fields: { userId?: string; workspaceId?: string } = {}): ConversationCommand => ({
  type: "SetConversationMute",
  data: { meta: commandMeta({ actorId, workspaceId: fields.workspaceId ?? "w1", issuedAt: NOW }), conversationId: "c1", userId: fields.userId ?? actorId, muted, mutedUntil },
});
const muteSet = (userId: string, muted: boolean, mutedUntil: number | null = null): DecidedConversationEvent => ({
  type: "ConversationMuteSet",
  data: { conversationId: "c1", userId, muted, mutedUntil },
});
const created: DecidedConversationEvent = {
  type: "ConversationCreated",
  data: { conversationId: "c1", type: "group", title: "Team", description: null, createdBy: "u1", members: [{ userId: "u1", role: "owner" }, { userId: "u2", role: "member" }] },
};

describe("a member's mute of a conversation", () => {
  describe("when the actor is a member", () => {
    it("mutes until unmuted, until an instant, and unmutes (an until with an unmute is dropped)", () => {
      spec.given([created]).when(mute("u2", true)).then([muteSet("u2", true)]);
      spec.given([created]).when(mute("u2", true, NOW + 3_600_000)).then([muteSet("u2", true, NOW + 3_600_000)]);
      spec.given([created]).when(mute("u2", false, NOW + 5)).then([muteSet("u2", false)]);
    });

    it("refuses a mute that ends before the command, and another member's setting", () => {
      spec.given([created]).when(mute("u2", true, NOW)).thenThrows("invalid", /future/);
      spec.given([created]).when(mute("u1", true, null, { userId: "u2" })).thenThrows("forbidden");
    });

    it("is decided by the conversation aggregate that also decides messages", () => {
      deciderSpec(messagesDecider).given([created]).when(mute("u1", true)).then([muteSet("u1", true)]);
    });
  });

  describe("when the actor is not a member", () => {
    it("refuses: not a member, no such conversation in another workspace or at all", () => {
      spec.given([created]).when(mute("u3", true)).thenThrows("not_a_member");
      spec.given([created]).when(mute("u2", true, null, { workspaceId: "w2" })).thenThrows("not_found");
      spec.given([]).when(mute("u2", true)).thenThrows("not_found");
    });
  });
});
