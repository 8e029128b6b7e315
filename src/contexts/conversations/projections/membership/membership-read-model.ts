import type { MembershipAnswer, RedisMembershipCache } from "./redis-membership-cache.js";
import type { ConversationView, MysqlMembershipStore } from "./mysql-membership-store.js";

/**
 * Who belongs to which conversation, as the gateway asks it on every join and push: Redis
 * first, MySQL on a miss (and the answer cached, including "no such conversation").
 */
export class MembershipReadModel {
  constructor(
    private readonly store: MysqlMembershipStore,
    private readonly cache: RedisMembershipCache,
  ) {}

  async membership(conversationId: string, userId: string): Promise<MembershipAnswer> {
    const cached = await this.cache.lookup(conversationId, userId);
    if (cached) return cached;
    const view = await this.store.conversation(conversationId);
    await this.cache.store(conversationId, view);
    if (view === undefined) return { exists: false, workspaceId: "", member: false };
    return { exists: true, workspaceId: view.workspaceId, member: view.members.some((member) => member.userId === userId) };
  }

  /** True when `userId` is a member of the conversation within `workspaceId`. */
  async isMember(conversationId: string, userId: string, workspaceId: string): Promise<boolean> {
    const answer = await this.membership(conversationId, userId);
    return answer.member && answer.workspaceId === workspaceId;
  }

  conversation(conversationId: string): Promise<ConversationView | undefined> {
    return this.store.conversation(conversationId);
  }

  /** Re-reads a conversation from MySQL into the cache (after the projection changed it). */
  async refresh(conversationId: string): Promise<ConversationView | undefined> {
    const view = await this.store.conversation(conversationId);
    if (view !== undefined) await this.cache.store(conversationId, view);
    return view;
  }
}
