import { describe, expect, it } from "vitest";
import type { AddMember, CreateConversation } from "../../../../src/platform/contract/generated/avro-types.js";
import type { ConversationCommand } from "../../../../src/contexts/conversations/domain/membership/commands.js";
import { conversationDecider } from "../../../../src/contexts/conversations/domain/membership/decide.js";
import type { DecidedConversationEvent } from "../../../../src/contexts/conversations/domain/membership/events.js";
import { evolve, initialState } from "../../../../src/contexts/conversations/domain/membership/state.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const spec = deciderSpec(conversationDecider);

const create = (data: Partial<Omit<CreateConversation, "meta">> = {}, actorId = "u1"): ConversationCommand => ({
  type: "CreateConversation",
  data: { meta: commandMeta({ actorId }), conversationId: "c1", type: "group", title: "Team", description: null, memberIds: ["u2"], ...data },
});
const add = (userId: string, actorId = "u1", role: AddMember["role"] = "member", workspaceId = "w1"): ConversationCommand => ({
  type: "AddMember",
  data: { meta: commandMeta({ actorId, workspaceId }), conversationId: "c1", userId, role },
});
const remove = (userId: string, actorId = "u1"): ConversationCommand => ({
  type: "RemoveMember",
  data: { meta: commandMeta({ actorId }), conversationId: "c1", userId },
});

const created = (
  members: { userId: string; role: "owner" | "admin" | "member" }[] = [{ userId: "u1", role: "owner" }, { userId: "u2", role: "member" }],
  type: CreateConversation["type"] = "group",
): DecidedConversationEvent => ({
  type: "ConversationCreated",
  data: { conversationId: "c1", type, title: type === "direct" ? null : "Team", description: null, createdBy: "u1", members },
});
const added = (userId: string, role: "admin" | "member" = "member"): DecidedConversationEvent => ({
  type: "MemberAdded",
  data: { conversationId: "c1", userId, role },
});
const removed = (userId: string, reason: "left" | "removed" | "user_deleted"): DecidedConversationEvent => ({
  type: "MemberRemoved",
  data: { conversationId: "c1", userId, reason },
});

describe("conversations decider", () => {
  describe("when the conversation does not exist", () => {
    it("creates it with the creator as owner and the others as members", () => {
      spec.given([]).when(create({ memberIds: ["u2", "u3"] })).then([
        created([
          { userId: "u1", role: "owner" },
          { userId: "u2", role: "member" },
          { userId: "u3", role: "member" },
        ]),
      ]);
    });

    it("makes the caller a member even when not listed, once even when listed twice", () => {
      spec.given([]).when(create({ memberIds: ["u1", "u2", "u2"] })).then([created()]);
    });

    it("creates a direct conversation between exactly two people", () => {
      spec.given([]).when(create({ type: "direct", title: null, memberIds: ["u2"] })).then([created(undefined, "direct")]);
    });

    it("refuses a direct conversation with anything but one other member", () => {
      spec.given([]).when(create({ type: "direct", memberIds: ["u2", "u3"] })).thenThrows("invalid");
      spec.given([]).when(create({ type: "direct", memberIds: [] })).thenThrows("invalid");
      spec.given([]).when(create({ type: "direct", memberIds: ["u1"] })).thenThrows("invalid");
    });

    it("refuses empty ids", () => {
      spec.given([]).when(create({ conversationId: "" })).thenThrows("invalid");
      spec.given([]).when(create({ memberIds: [""] })).thenThrows("invalid");
    });

    it("answers membership changes with not_found", () => {
      spec.given([]).when(add("u3")).thenThrows("not_found");
      spec.given([]).when(remove("u2")).thenThrows("not_found");
    });
  });

  describe("when the conversation is active", () => {
    const group = [created()];

    it("refuses to create it again", () => {
      spec.given(group).when(create()).thenThrows("conflict");
    });

    it("lets a member add someone", () => {
      spec.given(group).when(add("u3", "u2")).then([added("u3")]);
    });

    it("does nothing when adding an existing member", () => {
      spec.given(group).when(add("u2")).thenNothingHappened();
    });

    it("refuses additions by non-members", () => {
      spec.given(group).when(add("u4", "u3")).thenThrows("not_a_member");
    });

    it("removes a user deleted upstream when the user service says so, whoever the user is", () => {
      spec.given(group).when(remove("u1", "system:users")).then([removed("u1", "user_deleted")]);
      spec.given(group).when(remove("u2", "system:users")).then([removed("u2", "user_deleted")]);
      spec.given(group).when(remove("u9", "system:users")).thenNothingHappened();
    });

    it("ignores the user service's removal in another workspace", () => {
      spec
        .given(group)
        .when({ type: "RemoveMember", data: { meta: commandMeta({ actorId: "system:users", workspaceId: "w2" }), conversationId: "c1", userId: "u2" } })
        .thenNothingHappened();
    });

    it("lets only the owner and admins add an admin, and nobody add an owner", () => {
      spec.given(group).when(add("u3", "u1", "admin")).then([added("u3", "admin")]);
      spec.given(group).when(add("u3", "u2", "admin")).thenThrows("forbidden");
      spec.given(group).when(add("u3", "u1", "owner")).thenThrows("invalid");
    });

    it("hides conversations of other workspaces", () => {
      spec.given(group).when(add("u3", "u1", "member", "w2")).thenThrows("not_found");
    });

    it("lets a member leave", () => {
      spec.given(group).when(remove("u2", "u2")).then([removed("u2", "left")]);
    });

    it("lets the owner remove others", () => {
      spec.given(group).when(remove("u2", "u1")).then([removed("u2", "removed")]);
    });

    it("lets admins remove members but not the owner nor other admins", () => {
      const withAdmins = [...group, added("u3", "admin"), added("u4", "admin")];
      spec.given(withAdmins).when(remove("u2", "u3")).then([removed("u2", "removed")]);
      spec.given(withAdmins).when(remove("u1", "u3")).thenThrows("forbidden");
      spec.given(withAdmins).when(remove("u4", "u3")).thenThrows("forbidden");
    });

    it("refuses removals of others by plain members", () => {
      spec.given([...group, added("u3")]).when(remove("u3", "u2")).thenThrows("forbidden");
    });

    it("does nothing when removing someone who is not a member", () => {
      spec.given(group).when(remove("u9")).thenNothingHappened();
    });

    it("refuses removals by non-members", () => {
      spec.given(group).when(remove("u2", "u9")).thenThrows("not_a_member");
    });

    it("no longer lets a removed member act", () => {
      spec.given([...group, removed("u2", "left")]).when(add("u3", "u2")).thenThrows("not_a_member");
    });
  });

  describe("when the conversation is direct", () => {
    const direct = [created(undefined, "direct")];
    const createDirect = (actorId: string, other: string, workspaceId = "w1"): ConversationCommand => ({
      type: "CreateConversation",
      data: { meta: commandMeta({ actorId, workspaceId }), conversationId: "c1", type: "direct", title: null, description: null, memberIds: [other] },
    });

    it("is the existing conversation when either of the two creates it again", () => {
      spec.given(direct).when(createDirect("u1", "u2")).thenNothingHappened();
      spec.given(direct).when(createDirect("u2", "u1")).thenNothingHappened();
    });

    it("is a conflict for another pair, another workspace or another type", () => {
      spec.given(direct).when(createDirect("u1", "u3")).thenThrows("conflict");
      spec.given(direct).when(createDirect("u3", "u2")).thenThrows("conflict");
      spec.given(direct).when(createDirect("u1", "u2", "w2")).thenThrows("conflict");
      spec.given(direct).when(create({ memberIds: ["u2"] })).thenThrows("conflict");
      spec.given([created()]).when(createDirect("u1", "u2")).thenThrows("conflict");
    });

    it("never changes its members", () => {
      spec.given(direct).when(add("u3")).thenThrows("forbidden");
      spec.given(direct).when(remove("u2")).thenThrows("forbidden");
      spec.given(direct).when(remove("u1", "u1")).thenThrows("forbidden");
      spec.given(direct).when(remove("u2", "system:users")).thenNothingHappened();
    });
  });

  describe("evolve", () => {
    it("ignores membership events of a conversation it never saw created", () => {
      const meta = { eventId: "e", occurredAt: 0, correlationId: "c", causationId: null, actorId: "u1", workspaceId: "w1" };
      expect(evolve(initialState(), { type: "MemberAdded", data: { meta, conversationId: "c1", userId: "u2", role: "member" } })).toEqual(
        initialState(),
      );
    });

    it("keeps the workspace and members of the created conversation", () => {
      expect(spec.given([created(), added("u3", "admin"), removed("u2", "left")], { workspaceId: "w7" }).state).toEqual({
        status: "active",
        conversationId: "c1",
        workspaceId: "w7",
        type: "group",
        createdBy: "u1",
        members: { u1: "owner", u3: "admin" },
      });
    });

    it("survives a JSON round trip, as the changelog stores it", () => {
      const { state } = spec.given([created(), added("u3")]);
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    });
  });

  describe("when a user id names a built-in object property", () => {
    it("is not taken for a member", () => {
      spec.given([created()]).when(add("x", "constructor")).thenThrows("not_a_member");
      spec.given([created()]).when(remove("u2", "__proto__")).thenThrows("not_a_member");
    });
  });
});
