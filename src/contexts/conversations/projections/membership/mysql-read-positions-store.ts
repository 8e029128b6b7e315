import type { Pool, RowDataPacket } from "mysql2/promise";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { inTransaction, MysqlCheckpoints } from "../../../../infra/mysql/projection-checkpoints.js";
import type { ProjectionSink } from "../../../../platform/projection/projection-runtime.js";
import { READ_POSITIONS_PROJECTION, readPositionChanges } from "./read-position-changes.js";

/** The tables of the read positions, under a table prefix (the membership store joins them). */
export const readPositionTables = (tablePrefix: string) => ({
  /** Per conversation: the seq and time of its last message. */
  activity: `${tablePrefix}conversation_activity`,
  /** Per conversation and user: the last seq the user read (or sent). */
  reads: `${tablePrefix}conversation_reads`,
});

/** How far a conversation has gone and how far one user has read it. */
export interface ReadPosition {
  /** The seq of its last message; 0 before the first. */
  readonly lastSeq: number;
  /** The last seq the user read or sent; 0 before either. */
  readonly readSeq: number;
  /** Epoch milliseconds of its last message; null before the first. */
  readonly lastMessageAt: number | null;
}

/**
 * The read positions of conversations in MySQL, projected from `quikapp.messages.events`: for
 * each conversation the seq and time of its last message, for each user who read or sent in it
 * the last seq read — a user's own message counts as read by them, so it is never unread to its
 * sender. Positions only move forward and are kept when a member leaves (as the aggregate keeps
 * its cursors). Written with the projection's checkpoint in one transaction, beside the
 * membership tables, which {@link MysqlMembershipStore.inbox} joins with them.
 */
export class MysqlReadPositionsStore implements ProjectionSink {
  private readonly tables;
  private readonly checkpointTable: MysqlCheckpoints;

  constructor(
    private readonly pool: Pool,
    tablePrefix = "",
  ) {
    this.tables = readPositionTables(tablePrefix);
    this.checkpointTable = new MysqlCheckpoints(pool, tablePrefix);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointTable.ensureSchema();
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.tables.activity}\` (
        conversation_id VARCHAR(128) NOT NULL PRIMARY KEY,
        last_seq BIGINT NOT NULL,
        last_message_at BIGINT NOT NULL
      ) ENGINE=InnoDB`,
    );
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.tables.reads}\` (
        conversation_id VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        read_seq BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
      ) ENGINE=InnoDB`,
    );
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointTable.all(READ_POSITIONS_PROJECTION, topic);
  }

  async apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return inTransaction(this.pool, async (connection) => {
      const from = await this.checkpointTable.lock(connection, READ_POSITIONS_PROJECTION, topic, partition);
      const fresh = records.filter((record) => record.offset >= from);
      // A batch folds into one row per conversation and per reader: positions only grow.
      const activity = new Map<string, { seq: number; at: number }>();
      const reads = new Map<string, { conversationId: string; userId: string; seq: number }>();
      const read = (conversationId: string, userId: string, seq: number) => {
        const key = `${conversationId}\u0000${userId}`;
        if ((reads.get(key)?.seq ?? -1) < seq) reads.set(key, { conversationId, userId, seq });
      };
      for (const change of fresh.flatMap((record) => readPositionChanges(record))) {
        if (change.kind === "read") {
          read(change.conversationId, change.userId, change.seq);
          continue;
        }
        const last = activity.get(change.conversationId);
        activity.set(change.conversationId, { seq: Math.max(last?.seq ?? 0, change.seq), at: Math.max(last?.at ?? 0, change.at) });
        read(change.conversationId, change.senderId, change.seq);
      }
      if (activity.size > 0) {
        await connection.query(
          `INSERT INTO \`${this.tables.activity}\` (conversation_id, last_seq, last_message_at) VALUES ?
           ON DUPLICATE KEY UPDATE last_seq = GREATEST(last_seq, VALUES(last_seq)), last_message_at = GREATEST(last_message_at, VALUES(last_message_at))`,
          [[...activity].map(([conversationId, { seq, at }]) => [conversationId, seq, at])],
        );
      }
      if (reads.size > 0) {
        await connection.query(
          `INSERT INTO \`${this.tables.reads}\` (conversation_id, user_id, read_seq) VALUES ?
           ON DUPLICATE KEY UPDATE read_seq = GREATEST(read_seq, VALUES(read_seq))`,
          [[...reads.values()].map(({ conversationId, userId, seq }) => [conversationId, userId, seq])],
        );
      }
      if (fresh.length > 0) {
        await this.checkpointTable.save(connection, READ_POSITIONS_PROJECTION, topic, partition, fresh[fresh.length - 1]!.offset + 1);
      }
      return fresh;
    });
  }

  /** How far `conversationId` has gone and how far `userId` has read it (zeros when nothing is known). */
  async position(conversationId: string, userId: string): Promise<ReadPosition> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT
         (SELECT last_seq FROM \`${this.tables.activity}\` WHERE conversation_id = ?) AS last_seq,
         (SELECT last_message_at FROM \`${this.tables.activity}\` WHERE conversation_id = ?) AS last_message_at,
         (SELECT read_seq FROM \`${this.tables.reads}\` WHERE conversation_id = ? AND user_id = ?) AS read_seq`,
      [conversationId, conversationId, conversationId, userId],
    );
    const row = rows[0];
    return {
      lastSeq: Number(row?.last_seq ?? 0),
      readSeq: Number(row?.read_seq ?? 0),
      lastMessageAt: row?.last_message_at === null || row?.last_message_at === undefined ? null : Number(row.last_message_at),
    };
  }

  /** The read position of every user who read or sent in `conversationId`, by user (absent: 0). */
  async readers(conversationId: string): Promise<Map<string, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT user_id, read_seq FROM \`${this.tables.reads}\` WHERE conversation_id = ?`, [conversationId]);
    return new Map(rows.map((row) => [String(row.user_id), Number(row.read_seq)]));
  }

  /** Empties the read positions and their checkpoints, for a rebuild. */
  async clear(): Promise<void> {
    await inTransaction(this.pool, async (connection) => {
      await connection.query(`DELETE FROM \`${this.tables.reads}\``);
      await connection.query(`DELETE FROM \`${this.tables.activity}\``);
      await this.checkpointTable.clear(connection, READ_POSITIONS_PROJECTION);
    });
  }
}
