import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import { tablePrefixOf } from "../../../infra/mysql/mysql-pool.js";
import { MysqlMembershipStore } from "../../conversations/projections/membership/mysql-membership-store.js";
import { MysqlReadPositionsStore } from "../../conversations/projections/membership/mysql-read-positions-store.js";
import { PresenceReadModel } from "../../presence/projections/presence/presence-read-model.js";
import { mutesStore } from "../../conversations/projections/mutes/mutes-projection.js";
import type { RecipientFacts } from "./policy-flushers.js";

/** The topics through which a socket follows a conversation (both dialects). */
export const conversationTopics = (conversationId: string): string[] => [`chat:${conversationId}`, `conversation:${conversationId}`];

/**
 * The facts of the policy from the read models: membership and read positions (MySQL, the
 * conversations context's), sockets and display names (Redis, the presence context's), and the
 * members' mutes (MySQL, the conversations' `mutes` read model). Each lags its events by its
 * projection's lag.
 */
export function readModelFacts(deps: {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly topicPrefix: string;
  readonly now?: () => number;
}): RecipientFacts & { ensureSchema(): Promise<void> } {
  const tablePrefix = tablePrefixOf(deps.topicPrefix);
  const membership = new MysqlMembershipStore(deps.pool, tablePrefix);
  const readPositions = new MysqlReadPositionsStore(deps.pool, tablePrefix);
  const presence = new PresenceReadModel(deps.redis, deps.topicPrefix);
  const mutes = mutesStore(deps.pool, deps.topicPrefix);
  const now = deps.now ?? Date.now;
  return {
    async ensureSchema() {
      // Whichever projector starts first makes the tables the policy reads.
      await membership.ensureSchema();
      await readPositions.ensureSchema();
      await mutes.ensureSchema();
    },
    async conversation(conversationId) {
      const view = await membership.conversation(conversationId);
      if (view === undefined) return undefined;
      return { id: view.id, workspaceId: view.workspaceId, type: view.type, title: view.title, members: view.members.map((member) => member.userId) };
    },
    readSeqs: (conversationId) => readPositions.readers(conversationId),
    viewing: (userId, conversationId) => presence.views(userId, conversationTopics(conversationId), now()),
    connected: (userId) => presence.connected(userId, now()),
    mutedAmong: (conversationId, userIds) => mutes.mutedAmong(conversationId, userIds, now()),
    badge: (userId, workspaceId) => membership.unreadCount(userId, workspaceId),
    names: (userIds) => presence.displayNames(userIds),
  };
}
