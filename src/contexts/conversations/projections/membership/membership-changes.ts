import type { ConversationCreated, MemberAdded, MemberRemoved } from "../../../../platform/contract/generated/avro-types.js";
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

const CREATED = "quikchat.conversations.ConversationCreated";
const ADDED = "quikchat.conversations.MemberAdded";
const REMOVED = "quikchat.conversations.MemberRemoved";

/**
 * The membership changes an event stands for (pure). Events of other types change nothing.
 * Applying the same changes twice leaves the read model as applying them once.
 */
export function membershipChanges(record: Pick<ConsumedRecord, "fullName" | "value">): MembershipChange[] {
  switch (record.fullName) {
    case CREATED: {
      const event = record.value as ConversationCreated;
      const { workspaceId, occurredAt: at } = event.meta;
      return [
        {
          kind: "conversation",
          conversationId: event.conversationId,
          workspaceId,
          type: event.type,
          title: event.title,
          createdBy: event.createdBy,
          at,
        },
        ...event.members.map((member) => ({
          kind: "member_added" as const,
          conversationId: event.conversationId,
          workspaceId,
          userId: member.userId,
          role: member.role,
          at,
        })),
      ];
    }
    case ADDED: {
      const event = record.value as MemberAdded;
      const { workspaceId, occurredAt: at } = event.meta;
      return [{ kind: "member_added", conversationId: event.conversationId, workspaceId, userId: event.userId, role: event.role, at }];
    }
    case REMOVED: {
      const event = record.value as MemberRemoved;
      const { workspaceId, occurredAt: at } = event.meta;
      return [{ kind: "member_removed", conversationId: event.conversationId, workspaceId, userId: event.userId, at }];
    }
    default:
      return [];
  }
}
