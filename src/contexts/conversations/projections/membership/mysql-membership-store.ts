import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { inTransaction, MysqlCheckpoints } from "../../../../infra/mysql/projection-checkpoints.js";
import type { ProjectionSink } from "../../../../platform/projection/projection-runtime.js";
import { membershipChanges } from "./membership-changes.js";
import { readPositionTables } from "./mysql-read-positions-store.js";

/** A conversation as the membership read model knows it. */
export interface ConversationView {
  readonly id: string;
  readonly workspaceId: string;
  readonly type: string;
  readonly title: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly members: readonly { readonly userId: string; readonly role: string }[];
  /** Offset of the last event applied to this conversation: orders cache writes. */
  readonly version: number;
}

/** One of a user's conversations, as `GET /api/conversations` lists them: with how far it has gone and how far the user has read it. */
export interface InboxEntry extends ConversationView {
  /** The seq of its last message; 0 before the first. */
  readonly lastSeq: number;
  /** The last seq the user read or sent; 0 before either. */
  readonly readSeq: number;
  /** Epoch milliseconds of its last message, or of its creation before the first: what the inbox is ordered by. */
  readonly activityAt: number;
}

/** Where a page of an inbox starts: after the entry with this activity time and id (exclusive). */
export interface InboxCursor {
  readonly activityAt: number;
  readonly id: string;
}

export const MEMBERSHIP_PROJECTION = "membership";

/**
 * Conversations and their members in MySQL, with the projection's checkpoint in the same
 * transaction. The authority behind the Redis membership cache.
 */
export class MysqlMembershipStore implements ProjectionSink {
  private readonly conversations: string;
  private readonly members: string;
  private readonly readPositions;
  private readonly checkpointTable: MysqlCheckpoints;

  constructor(
    private readonly pool: Pool,
    tablePrefix = "",
  ) {
    this.conversations = `${tablePrefix}conversations`;
    this.members = `${tablePrefix}conversation_members`;
    this.readPositions = readPositionTables(tablePrefix);
    this.checkpointTable = new MysqlCheckpoints(pool, tablePrefix);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointTable.ensureSchema();
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.conversations}\` (
        id VARCHAR(128) NOT NULL PRIMARY KEY,
        workspace_id VARCHAR(128) NOT NULL,
        type VARCHAR(16) NOT NULL,
        title VARCHAR(255) NULL,
        created_by VARCHAR(128) NOT NULL,
        created_at BIGINT NOT NULL,
        version BIGINT NOT NULL
      ) ENGINE=InnoDB`,
    );
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.members}\` (
        conversation_id VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        role VARCHAR(16) NOT NULL,
        joined_at BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, user_id),
        KEY by_user (user_id)
      ) ENGINE=InnoDB`,
    );
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointTable.all(MEMBERSHIP_PROJECTION, topic);
  }

  async apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return inTransaction(this.pool, async (connection) => {
      const from = await this.checkpointTable.lock(connection, MEMBERSHIP_PROJECTION, topic, partition);
      const fresh = records.filter((record) => record.offset >= from);
      for (const record of fresh) {
        for (const change of membershipChanges(record)) {
          // Upstream services may add members to conversations this service never saw created.
          await connection.query(
            `INSERT INTO \`${this.conversations}\` (id, workspace_id, type, title, created_by, created_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE version = GREATEST(version, VALUES(version))`,
            change.kind === "conversation"
              ? [change.conversationId, change.workspaceId, change.type, change.title, change.createdBy, change.at, record.offset]
              : [change.conversationId, change.workspaceId, "group", null, "", change.at, record.offset],
          );
          if (change.kind === "conversation") {
            await connection.query(
              `UPDATE \`${this.conversations}\` SET type = ?, title = ?, created_by = ?, created_at = ? WHERE id = ?`,
              [change.type, change.title, change.createdBy, change.at, change.conversationId],
            );
          } else if (change.kind === "member_added") {
            await connection.query(
              `INSERT INTO \`${this.members}\` (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
               ON DUPLICATE KEY UPDATE role = VALUES(role)`,
              [change.conversationId, change.userId, change.role, change.at],
            );
          } else {
            await connection.query(`DELETE FROM \`${this.members}\` WHERE conversation_id = ? AND user_id = ?`, [
              change.conversationId,
              change.userId,
            ]);
          }
        }
      }
      if (fresh.length > 0) {
        await this.checkpointTable.save(connection, MEMBERSHIP_PROJECTION, topic, partition, fresh[fresh.length - 1]!.offset + 1);
      }
      return fresh;
    });
  }

  /** The conversation with its members, read consistently; undefined when unknown. */
  async conversation(id: string): Promise<ConversationView | undefined> {
    return inTransaction(this.pool, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT id, workspace_id, type, title, created_by, created_at, version FROM \`${this.conversations}\` WHERE id = ? LOCK IN SHARE MODE`,
        [id],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      const members = await this.membersOf(connection, [id]);
      return viewOf(row, members.get(id) ?? []);
    });
  }

  /**
   * A page of `userId`'s conversations in `workspaceId`, newest activity first (ties by id,
   * descending), starting after `after`; each with the read positions the read-positions
   * projection wrote (zeros where it wrote none yet).
   */
  async inbox(userId: string, workspaceId: string, page: { readonly limit: number; readonly after?: InboxCursor }): Promise<InboxEntry[]> {
    const activityAt = "COALESCE(a.last_message_at, c.created_at)";
    const after = page.after === undefined ? "" : `AND (${activityAt} < ? OR (${activityAt} = ? AND c.id < ?))`;
    return inTransaction(this.pool, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT c.id, c.workspace_id, c.type, c.title, c.created_by, c.created_at, c.version,
                COALESCE(a.last_seq, 0) AS last_seq, COALESCE(r.read_seq, 0) AS read_seq, ${activityAt} AS activity_at
         FROM \`${this.members}\` m
         JOIN \`${this.conversations}\` c ON c.id = m.conversation_id
         LEFT JOIN \`${this.readPositions.activity}\` a ON a.conversation_id = c.id
         LEFT JOIN \`${this.readPositions.reads}\` r ON r.conversation_id = c.id AND r.user_id = m.user_id
         WHERE m.user_id = ? AND c.workspace_id = ? ${after}
         ORDER BY activity_at DESC, c.id DESC
         LIMIT ?`,
        [userId, workspaceId, ...(page.after === undefined ? [] : [page.after.activityAt, page.after.activityAt, page.after.id]), page.limit],
      );
      const members = await this.membersOf(connection, rows.map((row) => String(row.id)));
      return rows.map((row) => ({
        ...viewOf(row, members.get(String(row.id)) ?? []),
        lastSeq: Number(row.last_seq),
        readSeq: Number(row.read_seq),
        activityAt: Number(row.activity_at),
      }));
    });
  }

  private async membersOf(connection: PoolConnection, conversationIds: readonly string[]): Promise<Map<string, ConversationView["members"][number][]>> {
    const byConversation = new Map<string, ConversationView["members"][number][]>();
    if (conversationIds.length === 0) return byConversation;
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT conversation_id, user_id, role FROM \`${this.members}\` WHERE conversation_id IN (?) ORDER BY joined_at, user_id`,
      [conversationIds],
    );
    for (const row of rows) {
      const id = String(row.conversation_id);
      const members = byConversation.get(id) ?? [];
      members.push({ userId: String(row.user_id), role: String(row.role) });
      byConversation.set(id, members);
    }
    return byConversation;
  }

  /**
   * How many messages `userId` has not read over all its conversations in `workspaceId` (the
   * badge of a push): per conversation, its last seq minus the user's read position.
   */
  async unreadCount(userId: string, workspaceId: string): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT COALESCE(SUM(GREATEST(a.last_seq - COALESCE(r.read_seq, 0), 0)), 0) AS unread
       FROM \`${this.members}\` m
       JOIN \`${this.conversations}\` c ON c.id = m.conversation_id
       JOIN \`${this.readPositions.activity}\` a ON a.conversation_id = m.conversation_id
       LEFT JOIN \`${this.readPositions.reads}\` r ON r.conversation_id = m.conversation_id AND r.user_id = m.user_id
       WHERE m.user_id = ? AND c.workspace_id = ?`,
      [userId, workspaceId],
    );
    return Number(rows[0]?.unread ?? 0);
  }

  /** The ids of the conversations `userId` is a member of, in id order (none for an unknown user). */
  async conversationsOf(userId: string): Promise<string[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT conversation_id FROM \`${this.members}\` WHERE user_id = ? ORDER BY conversation_id`,
      [userId],
    );
    return rows.map((row) => String(row.conversation_id));
  }

  /** Empties the read model and its checkpoints, for a rebuild. */
  async clear(): Promise<void> {
    await inTransaction(this.pool, async (connection) => {
      await connection.query(`DELETE FROM \`${this.members}\``);
      await connection.query(`DELETE FROM \`${this.conversations}\``);
      await this.checkpointTable.clear(connection, MEMBERSHIP_PROJECTION);
    });
  }
}

function viewOf(row: RowDataPacket, members: ConversationView["members"]): ConversationView {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    type: String(row.type),
    title: row.title === null ? null : String(row.title),
    createdBy: String(row.created_by),
    createdAt: Number(row.created_at),
    version: Number(row.version),
    members,
  };
}
