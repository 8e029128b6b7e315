import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Attachment, MessageType } from "../../../../platform/contract/generated/avro-types.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { inTransaction, MysqlCheckpoints } from "../../../../infra/mysql/projection-checkpoints.js";
import { groupReactions, HISTORY_PROJECTION, historyChanges, type HistoryChange } from "./history-changes.js";
import type { HistoryMessage, HistoryRange, HistoryStore } from "./history-port.js";
import { normalizeRange } from "./history-range.js";

type SentChange = Extract<HistoryChange, { kind: "message_sent" }>;
/** Rows per multi-row INSERT: bounds the statement well below `max_allowed_packet` for long messages. */
const MAX_ROWS_PER_INSERT = 100;

const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);
const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const nullableString = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * History in MySQL/MariaDB: `<prefix>messages` (one row per message, primary key
 * (conversation_id, seq), message id unique) and `<prefix>message_reactions` (one row per
 * emoji and user, ordered by the offset of the reaction), with the checkpoint of the `history`
 * projection in `<prefix>projection_checkpoints`.
 *
 * `apply` writes rows and checkpoint in one transaction, holding the checkpoint row locked, and
 * skips records below it. Every write is also guarded by the message's `version` (offset of the
 * last event applied to it) and edits by `revision`, so re-applying a record is harmless even
 * if a checkpoint were lost. The pool is the caller's: `close` leaves it open.
 */
export class MysqlHistoryStore implements HistoryStore {
  private readonly messagesTable: string;
  private readonly reactionsTable: string;
  private readonly checkpointTable: MysqlCheckpoints;

  constructor(
    private readonly pool: Pool,
    tablePrefix = "",
  ) {
    this.messagesTable = `${tablePrefix}messages`;
    this.reactionsTable = `${tablePrefix}message_reactions`;
    this.checkpointTable = new MysqlCheckpoints(pool, tablePrefix);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointTable.ensureSchema();
    // utf8mb4_bin: emoji need four bytes, and a case- or accent-folding collation would merge
    // distinct emoji and shortcodes into one reaction.
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.messagesTable}\` (
        conversation_id VARCHAR(128) NOT NULL,
        seq BIGINT NOT NULL,
        message_id VARCHAR(128) NOT NULL,
        sender_id VARCHAR(128) NOT NULL,
        type VARCHAR(16) NOT NULL,
        content MEDIUMTEXT NOT NULL,
        attachments JSON NOT NULL,
        client_msg_id VARCHAR(128) NULL,
        reply_to VARCHAR(128) NULL,
        sent_at BIGINT NOT NULL,
        edited_at BIGINT NULL,
        revision INT NOT NULL,
        deleted_at BIGINT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, seq),
        UNIQUE KEY by_message_id (message_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.reactionsTable}\` (
        conversation_id VARCHAR(128) NOT NULL,
        seq BIGINT NOT NULL,
        emoji VARCHAR(64) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        reacted_version BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, seq, emoji, user_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointTable.all(HISTORY_PROJECTION, topic);
  }

  async apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return inTransaction(this.pool, async (connection) => {
      const from = await this.checkpointTable.lock(connection, HISTORY_PROJECTION, topic, partition);
      const fresh = records.filter((record) => record.offset >= from);
      // New messages go in multi-row INSERTs: one round trip per run of them instead of one per
      // message (a busy conversation's batch is mostly new messages). Any other change first
      // writes the run before it, so the order of the records is kept.
      const sent: SentChange[] = [];
      for (const record of fresh) {
        for (const change of historyChanges(record)) {
          if (change.kind === "message_sent") {
            sent.push(change);
            if (sent.length >= MAX_ROWS_PER_INSERT) await this.insertMessages(connection, sent.splice(0));
            continue;
          }
          if (sent.length > 0) await this.insertMessages(connection, sent.splice(0));
          await this.write(connection, change);
        }
      }
      if (sent.length > 0) await this.insertMessages(connection, sent);
      if (fresh.length > 0) {
        await this.checkpointTable.save(connection, HISTORY_PROJECTION, topic, partition, fresh[fresh.length - 1]!.offset + 1);
      }
      return fresh;
    });
  }

  /** Inserts new messages; one already there (a replay) is left as it is. */
  private async insertMessages(connection: PoolConnection, changes: readonly SentChange[]): Promise<void> {
    const values = changes.flatMap(({ message: m, version }) => [
      m.conversationId,
      m.seq,
      m.id,
      m.senderId,
      m.type,
      m.content,
      JSON.stringify(m.attachments),
      m.clientMsgId,
      m.replyToMessageId,
      m.sentAt,
      version,
    ]);
    await connection.query(
      `INSERT INTO \`${this.messagesTable}\` (conversation_id, seq, message_id, sender_id, type, content, attachments, client_msg_id, reply_to,
         sent_at, edited_at, revision, deleted_at, version)
       VALUES ${changes.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, ?)").join(", ")}
       ON DUPLICATE KEY UPDATE version = version`,
      values,
    );
  }

  private async write(connection: PoolConnection, change: Exclude<HistoryChange, SentChange>): Promise<void> {
    const messages = `\`${this.messagesTable}\``;
    const reactions = `\`${this.reactionsTable}\``;
    const guard = `conversation_id = ? AND seq = ? AND version < ? AND deleted_at IS NULL`;
    const target = [change.conversationId, change.seq, change.version];
    switch (change.kind) {
      case "message_edited":
        await connection.query(`UPDATE ${messages} SET content = ?, revision = ?, edited_at = ?, version = ? WHERE ${guard} AND revision < ?`, [
          change.content,
          change.revision,
          change.editedAt,
          change.version,
          ...target,
          change.revision,
        ]);
        return;
      case "message_deleted": {
        const [result] = await connection.query<ResultSetHeader>(
          `UPDATE ${messages} SET content = '', attachments = '[]', deleted_at = ?, version = ? WHERE ${guard}`,
          [change.deletedAt, change.version, ...target],
        );
        if (result.affectedRows > 0) await connection.query(`DELETE FROM ${reactions} WHERE conversation_id = ? AND seq = ?`, [change.conversationId, change.seq]);
        return;
      }
      case "reaction_added":
      case "reaction_removed": {
        // Bumping the version first makes the reaction row change happen at most once per event.
        const [result] = await connection.query<ResultSetHeader>(`UPDATE ${messages} SET version = ? WHERE ${guard}`, [change.version, ...target]);
        if (result.affectedRows === 0) return;
        if (change.kind === "reaction_added") {
          await connection.query(
            `INSERT INTO ${reactions} (conversation_id, seq, emoji, user_id, reacted_version) VALUES (?, ?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE reacted_version = reacted_version`,
            [change.conversationId, change.seq, change.emoji, change.userId, change.version],
          );
        } else {
          await connection.query(`DELETE FROM ${reactions} WHERE conversation_id = ? AND seq = ? AND emoji = ? AND user_id = ?`, [
            change.conversationId,
            change.seq,
            change.emoji,
            change.userId,
          ]);
        }
        return;
      }
      default: {
        const unknown: never = change;
        throw new Error(`unknown history change ${JSON.stringify(unknown)}`);
      }
    }
  }

  async messages(conversationId: string, range: HistoryRange): Promise<HistoryMessage[]> {
    const { afterSeq, beforeSeq, limit, newestFirst } = normalizeRange(range);
    const conditions = ["conversation_id = ?"];
    const parameters: unknown[] = [conversationId];
    if (afterSeq !== undefined) {
      conditions.push("seq > ?");
      parameters.push(afterSeq);
    }
    if (beforeSeq !== undefined) {
      conditions.push("seq < ?");
      parameters.push(beforeSeq);
    }
    return inTransaction(this.pool, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT conversation_id, seq, message_id, sender_id, type, content, attachments, client_msg_id, reply_to, sent_at, edited_at,
           revision, deleted_at
         FROM \`${this.messagesTable}\` WHERE ${conditions.join(" AND ")} ORDER BY seq ${newestFirst ? "DESC" : "ASC"} LIMIT ?`,
        [...parameters, limit],
      );
      if (newestFirst) rows.reverse();
      if (rows.length === 0) return [];
      const seqs = rows.map((row) => Number(row.seq));
      const [reactionRows] = await connection.query<RowDataPacket[]>(
        `SELECT seq, emoji, user_id FROM \`${this.reactionsTable}\`
         WHERE conversation_id = ? AND seq BETWEEN ? AND ? ORDER BY seq, reacted_version, emoji, user_id`,
        [conversationId, Math.min(...seqs), Math.max(...seqs)],
      );
      const bySeq = new Map<number, { emoji: string; userId: string }[]>();
      for (const row of reactionRows) {
        const seq = Number(row.seq);
        bySeq.set(seq, [...(bySeq.get(seq) ?? []), { emoji: String(row.emoji), userId: String(row.user_id) }]);
      }
      return rows.map((row) => ({
        id: String(row.message_id),
        conversationId: String(row.conversation_id),
        seq: Number(row.seq),
        senderId: String(row.sender_id),
        type: String(row.type) as MessageType,
        content: String(row.content),
        attachments: json(row.attachments) as Attachment[],
        clientMsgId: nullableString(row.client_msg_id),
        replyToMessageId: nullableString(row.reply_to),
        sentAt: Number(row.sent_at),
        editedAt: nullableNumber(row.edited_at),
        revision: Number(row.revision),
        deletedAt: nullableNumber(row.deleted_at),
        reactions: groupReactions(bySeq.get(Number(row.seq)) ?? []),
      }));
    });
  }

  async lastSeq(conversationId: string): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT MAX(seq) AS last FROM \`${this.messagesTable}\` WHERE conversation_id = ?`, [conversationId]);
    return Number(rows[0]?.last ?? 0);
  }

  async clear(): Promise<void> {
    await inTransaction(this.pool, async (connection) => {
      await connection.query(`DELETE FROM \`${this.reactionsTable}\``);
      await connection.query(`DELETE FROM \`${this.messagesTable}\``);
      await this.checkpointTable.clear(connection, HISTORY_PROJECTION);
    });
  }

  async close(): Promise<void> {
    // The pool is shared with other adapters and closed by the composition root.
  }
}
