import type { AddMember, CreateConversation, RemoveMember, SetConversationMute } from "../../../../platform/contract/generated/avro-types.js";
import { unreachable, type Decider } from "../../../../platform/domain/decider.js";
import { DomainError } from "../../../../platform/domain/domain-error.js";
import { own } from "../../../../platform/domain/own-entry.js";
import { USER_SERVICE_ACTOR } from "../../../../platform/domain/system-actors.js";
import type { ConversationCommand } from "./commands.js";
import type { ConversationEvent, DecidedConversationEvent } from "./events.js";
import { evolve, initialState, type ActiveConversation, type ConversationState } from "./state.js";

/**
 * Decides conversation commands:
 *
 * - create: the creator is always a member (owner); a direct conversation has exactly two
 *   members; creating an existing conversation is a `conflict`, except a direct one created
 *   again for the same two people (by either of them): that is the existing conversation, a
 *   no-op (get-or-create; gateways derive a direct conversation's id from its pair).
 * - add member: only members may add; only owners and admins may add an admin; nobody is added
 *   as owner; direct conversations never change members; adding a member again is a no-op.
 * - remove member: a member may remove themselves (leave); only the owner and admins may remove
 *   others, admins only plain members; direct conversations never change members; removing
 *   someone who is not a member is a no-op.
 * - remove member by the user service (`system:users`, for a user deleted upstream): accepted
 *   for any member of a group or channel conversation of its workspace (`MemberRemoved`
 *   `user_deleted`); a direct conversation keeps its two members (its id is the pair's), and a
 *   user who is not a member, or a conversation that does not exist, is a no-op.
 *
 * - mute: a member mutes or unmutes the conversation's notifications for themselves only
 *   (`forbidden` for another member's setting), indefinitely or until an instant after the
 *   command (`invalid` otherwise); the setting goes with the member when they leave.
 *
 * A conversation of another workspace is `not_found`, so its existence does not leak.
 */
export function decide(command: ConversationCommand, state: ConversationState): DecidedConversationEvent[] {
  switch (command.type) {
    case "CreateConversation":
      return create(command.data, state);
    case "AddMember":
      return addMember(command.data, state);
    case "RemoveMember":
      return removeMember(command.data, state);
    case "SetConversationMute":
      return setMute(command.data, state);
    default:
      return unreachable(command);
  }
}

function create(command: CreateConversation, state: ConversationState): DecidedConversationEvent[] {
  if (state.status === "active") {
    if (isSameDirect(command, state)) return [];
    throw new DomainError("conflict", "the conversation already exists");
  }
  const creator = command.meta.actorId;
  if (command.conversationId === "") throw new DomainError("invalid", "a conversation needs an id");
  if (command.memberIds.some((userId) => userId === "")) throw new DomainError("invalid", "member ids may not be empty");
  const others = [...new Set(command.memberIds)].filter((userId) => userId !== creator);
  if (command.type === "direct" && others.length !== 1) {
    throw new DomainError("invalid", "a direct conversation has exactly two members");
  }
  return [
    {
      type: "ConversationCreated",
      data: {
        conversationId: command.conversationId,
        type: command.type,
        title: command.title,
        description: command.description,
        createdBy: creator,
        members: [{ userId: creator, role: "owner" }, ...others.map((userId) => ({ userId, role: "member" as const }))],
      },
    },
  ];
}

function addMember(command: AddMember, state: ConversationState): DecidedConversationEvent[] {
  const conversation = membersOnly(command.meta, state);
  if (conversation.type === "direct") throw new DomainError("forbidden", "direct conversations never change members");
  if (command.role === "owner") throw new DomainError("invalid", "a conversation has one owner: its creator");
  if (command.role === "admin" && own(conversation.members, command.meta.actorId) === "member") {
    throw new DomainError("forbidden", "only the owner and admins may add an admin");
  }
  if (own(conversation.members, command.userId) !== undefined) return [];
  return [{ type: "MemberAdded", data: { conversationId: command.conversationId, userId: command.userId, role: command.role } }];
}

function removeMember(command: RemoveMember, state: ConversationState): DecidedConversationEvent[] {
  if (command.meta.actorId === USER_SERVICE_ACTOR) return removeDeletedUser(command, state);
  const conversation = membersOnly(command.meta, state);
  if (conversation.type === "direct") throw new DomainError("forbidden", "direct conversations never change members");
  const target = own(conversation.members, command.userId);
  if (target === undefined) return [];
  const actor = command.meta.actorId;
  if (command.userId !== actor) {
    const actorRole = own(conversation.members, actor);
    const allowed = actorRole === "owner" || (actorRole === "admin" && target === "member");
    if (!allowed) throw new DomainError("forbidden", "only the owner and admins may remove others, admins only members");
  }
  return [
    {
      type: "MemberRemoved",
      data: { conversationId: command.conversationId, userId: command.userId, reason: command.userId === actor ? "left" : "removed" },
    },
  ];
}

function removeDeletedUser(command: RemoveMember, state: ConversationState): DecidedConversationEvent[] {
  if (state.status !== "active" || state.workspaceId !== command.meta.workspaceId) return [];
  if (state.type === "direct" || own(state.members, command.userId) === undefined) return [];
  return [{ type: "MemberRemoved", data: { conversationId: command.conversationId, userId: command.userId, reason: "user_deleted" } }];
}

function setMute(command: SetConversationMute, state: ConversationState): DecidedConversationEvent[] {
  membersOnly(command.meta, state);
  const { conversationId, userId, muted, mutedUntil, meta } = command;
  if (userId !== meta.actorId) throw new DomainError("forbidden", "a member mutes a conversation for themselves only");
  if (muted && mutedUntil !== null && mutedUntil <= meta.issuedAt) throw new DomainError("invalid", "a mute ends in the future (until)");
  return [{ type: "ConversationMuteSet", data: { conversationId, userId, muted, mutedUntil: muted ? mutedUntil : null } }];
}

/** True when `command` creates, in the same workspace, the direct conversation `state` already is between the same two people. */
function isSameDirect(command: CreateConversation, state: ActiveConversation): boolean {
  if (command.type !== "direct" || state.type !== "direct" || state.workspaceId !== command.meta.workspaceId) return false;
  const pair = new Set([command.meta.actorId, ...command.memberIds]);
  const members = Object.keys(state.members);
  return pair.size === members.length && members.every((userId) => pair.has(userId));
}

/** The conversation, when it exists in the actor's workspace and the actor is a member. */
function membersOnly(meta: { actorId: string; workspaceId: string }, state: ConversationState): ActiveConversation {
  if (state.status !== "active" || state.workspaceId !== meta.workspaceId) {
    throw new DomainError("not_found", "no such conversation");
  }
  if (own(state.members, meta.actorId) === undefined) throw new DomainError("not_a_member", "only members may change a conversation");
  return state;
}

/** The conversation aggregate. */
export const conversationDecider: Decider<ConversationCommand, ConversationEvent, ConversationState> = {
  initialState,
  evolve,
  decide,
};
