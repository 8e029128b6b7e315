import type { Pool, RowDataPacket } from "mysql2/promise";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { inTransaction, MysqlCheckpoints } from "../../../../infra/mysql/projection-checkpoints.js";
import type { RebuildableSink } from "../../../../platform/projection/rebuild.js";
import type { ConversationMutes, MuteSetting } from "../../ports.js";
import { muteChanges, MUTES_PROJECTION } from "./mute-changes.js";

/**
 * Members' mutes in MySQL, projected from `quikapp.conversations.events`: table
 * `<prefix>conversation_mutes`, one row per muted member (`muted_until` null: until unmuted); an
 * unmute or the member leaving deletes it. Written with the projection's checkpoint in one
 * transaction: replaying records changes nothing. An expired mute stays until the member changes
 * it again and reads as not muted from its end on.
 */
export class MysqlMutesStore implements RebuildableSink, ConversationMutes {
  private readonly table: string;
  private readonly checkpointTable: MysqlCheckpoints;

  constructor(
    private readonly pool: Pool,
    tablePrefix = "",
  ) {
    this.table = `${tablePrefix}conversation_mutes`;
    this.checkpointTable = new MysqlCheckpoints(pool, tablePrefix);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointTable.ensureSchema();
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.table}\` (
        conversation_id VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        muted_until BIGINT NULL,
        PRIMARY KEY (conversation_id, user_id)
      ) ENGINE=InnoDB`,
    );
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointTable.all(MUTES_PROJECTION, topic);
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return inTransaction(this.pool, async (connection) => {
      const from = await this.checkpointTable.lock(connection, MUTES_PROJECTION, topic, partition);
      const fresh = records.filter((record) => record.offset >= from);
      // In offset order: a mute after a leave and rejoin stands, a leave after a mute clears it.
      for (const change of fresh.flatMap((record) => muteChanges(record))) {
        if (change.kind === "muted") {
          await connection.query(`INSERT INTO \`${this.table}\` (conversation_id, user_id, muted_until) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE muted_until = VALUES(muted_until)`, [
            change.conversationId,
            change.userId,
            change.until,
          ]);
        } else {
          await connection.query(`DELETE FROM \`${this.table}\` WHERE conversation_id = ? AND user_id = ?`, [change.conversationId, change.userId]);
        }
      }
      if (fresh.length > 0) await this.checkpointTable.save(connection, MUTES_PROJECTION, topic, partition, fresh[fresh.length - 1]!.offset + 1);
      return fresh;
    });
  }

  async muteOf(conversationId: string, userId: string, at: number): Promise<MuteSetting> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT muted_until FROM \`${this.table}\` WHERE conversation_id = ? AND user_id = ?`, [conversationId, userId]);
    const row = rows[0];
    if (row === undefined) return { muted: false, until: null };
    const until = row.muted_until === null ? null : Number(row.muted_until);
    return until !== null && until <= at ? { muted: false, until: null } : { muted: true, until };
  }

  async mutedAmong(conversationId: string, userIds: readonly string[], at: number): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT user_id FROM \`${this.table}\` WHERE conversation_id = ? AND user_id IN (?) AND (muted_until IS NULL OR muted_until > ?)`,
      [conversationId, [...new Set(userIds)], at],
    );
    return new Set(rows.map((row) => String(row.user_id)));
  }

  async clear(): Promise<void> {
    await inTransaction(this.pool, async (connection) => {
      await connection.query(`DELETE FROM \`${this.table}\``);
      await this.checkpointTable.clear(connection, MUTES_PROJECTION);
    });
  }
}
