import type { ConversationType, MemberRole } from "../../../../platform/contract/generated/avro-types.js";
import { unreachable } from "../../../../platform/domain/decider.js";
import type { ConversationEvent } from "./events.js";

/** A conversation nobody has created (yet). */
export interface AbsentConversation {
  readonly status: "absent";
}

/** A created conversation and who is in it. */
export interface ActiveConversation {
  readonly status: "active";
  readonly conversationId: string;
  /** The tenant it was created in; commands from other workspaces are answered `not_found`. */
  readonly workspaceId: string;
  readonly type: ConversationType;
  readonly createdBy: string;
  /** Role of each member by user id. */
  readonly members: Readonly<Record<string, MemberRole>>;
}

export type ConversationState = AbsentConversation | ActiveConversation;

export function initialState(): ConversationState {
  return { status: "absent" };
}

/** Folds one event into the state; total: an event that does not apply changes nothing. */
export function evolve(state: ConversationState, event: ConversationEvent): ConversationState {
  switch (event.type) {
    case "ConversationCreated": {
      const { data } = event;
      return {
        status: "active",
        conversationId: data.conversationId,
        workspaceId: data.meta.workspaceId,
        type: data.type,
        createdBy: data.createdBy,
        members: Object.fromEntries(data.members.map((member) => [member.userId, member.role])),
      };
    }
    case "MemberAdded":
      if (state.status !== "active") return state;
      return { ...state, members: { ...state.members, [event.data.userId]: event.data.role } };
    case "MemberRemoved": {
      if (state.status !== "active") return state;
      const { [event.data.userId]: _removed, ...members } = state.members;
      return { ...state, members };
    }
    case "ConversationMuteSet":
      // A member's own setting: the read models keep it, the aggregate decides nothing by it.
      return state;
    default:
      return unreachable(event);
  }
}
