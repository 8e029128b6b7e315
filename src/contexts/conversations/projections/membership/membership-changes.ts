import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";

/** One change to the membership read model, derived from one event. */
export type MembershipChange =
  | {
      readonly kind: "conversation";
      readonly conversationId: string;
      readonly workspaceId: string;
      readonly type: string;
      readonly title: string | null;
      readonly createdBy: string;
      readonly at: number;
    }
  | { readonly kind: "member_added"; readonly conversationId: string; readonly workspaceId: string; readonly userId: string; readonly role: string; readonly at: number }
  | { readonly kind: "member_removed"; readonly conversationId: string; readonly workspaceId: string; readonly userId: string; readonly at: number };

/**
 * The membership changes an event stands for (pure). Events of other types change nothing.
 * Applying the same changes twice leaves the read model as applying them once.
 */
export function membershipChanges(record: Pick<ConsumedRecord, "fullName" | "value">): MembershipChange[] {
  const event = eventOf(record, "conversations");
  switch (event?.type) {
    case "ConversationCreated": {
      const { conversationId, type, title, createdBy, members, meta } = event.data;
      const { workspaceId, occurredAt: at } = meta;
      return [
        { kind: "conversation", conversationId, workspaceId, type, title, createdBy, at },
        ...members.map((member) => ({ kind: "member_added" as const, conversationId, workspaceId, userId: member.userId, role: member.role, at })),
      ];
    }
    case "MemberAdded": {
      const { conversationId, userId, role, meta } = event.data;
      return [{ kind: "member_added", conversationId, workspaceId: meta.workspaceId, userId, role, at: meta.occurredAt }];
    }
    case "MemberRemoved": {
      const { conversationId, userId, meta } = event.data;
      return [{ kind: "member_removed", conversationId, workspaceId: meta.workspaceId, userId, at: meta.occurredAt }];
    }
    default:
      return [];
  }
}
