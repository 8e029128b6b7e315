import type { Pool, RowDataPacket } from "mysql2/promise";
import { eventOf } from "../../../../platform/contract/event-records.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { inTransaction, MysqlCheckpoints } from "../../../../infra/mysql/projection-checkpoints.js";
import type { ProjectionSink } from "../../../../platform/projection/projection-runtime.js";

export const COMMENTS_PROJECTION = "comments";

/** A comment as clients receive it (`new_comment`) and the join reply lists it. */
export interface CommentView {
  readonly id: string;
  readonly content: string;
  readonly user_id: string;
  /** Epoch milliseconds. */
  readonly inserted_at: number;
}

/** A stored comment: the view and where it belongs. */
export interface StoredComment extends CommentView {
  readonly workspaceId: string;
  readonly videoId: string;
}

/** The comment a record stands for (pure); undefined for other records. */
export function commentOf(record: Pick<ConsumedRecord, "fullName" | "value">): StoredComment | undefined {
  const event = eventOf(record, "comments");
  if (event?.type !== "CommentPosted") return undefined;
  const { videoId, commentId, userId, content, meta } = event.data;
  return { workspaceId: meta.workspaceId, videoId, id: commentId, content, user_id: userId, inserted_at: meta.occurredAt };
}

/** The comments of every video in MySQL, with the projection's checkpoint in the same transaction. */
export class MysqlCommentStore implements ProjectionSink {
  private readonly comments: string;
  private readonly checkpointTable: MysqlCheckpoints;

  constructor(
    private readonly pool: Pool,
    tablePrefix = "",
  ) {
    this.comments = `${tablePrefix}comments`;
    this.checkpointTable = new MysqlCheckpoints(pool, tablePrefix);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointTable.ensureSchema();
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.comments}\` (
        id VARCHAR(128) NOT NULL PRIMARY KEY,
        workspace_id VARCHAR(128) NOT NULL,
        video_id VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        content TEXT NOT NULL,
        inserted_at BIGINT NOT NULL,
        position BIGINT NOT NULL,
        KEY by_video (workspace_id, video_id, position)
      ) ENGINE=InnoDB`,
    );
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointTable.all(COMMENTS_PROJECTION, topic);
  }

  async apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return inTransaction(this.pool, async (connection) => {
      const from = await this.checkpointTable.lock(connection, COMMENTS_PROJECTION, topic, partition);
      const fresh = records.filter((record) => record.offset >= from);
      for (const record of fresh) {
        const comment = commentOf(record);
        if (comment === undefined) continue;
        // A video's comments share a partition: the offset orders them.
        await connection.query(
          `INSERT IGNORE INTO \`${this.comments}\` (id, workspace_id, video_id, user_id, content, inserted_at, position) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [comment.id, comment.workspaceId, comment.videoId, comment.user_id, comment.content, comment.inserted_at, record.offset],
        );
      }
      if (fresh.length > 0) await this.checkpointTable.save(connection, COMMENTS_PROJECTION, topic, partition, fresh[fresh.length - 1]!.offset + 1);
      return fresh;
    });
  }

  /** The video's newest `limit` comments in the workspace, oldest first. */
  async latest(workspaceId: string, videoId: string, limit: number): Promise<CommentView[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT id, user_id, content, inserted_at FROM \`${this.comments}\` WHERE workspace_id = ? AND video_id = ? ORDER BY position DESC LIMIT ?`,
      [workspaceId, videoId, limit],
    );
    return rows.reverse().map((row) => ({ id: String(row.id), content: String(row.content), user_id: String(row.user_id), inserted_at: Number(row.inserted_at) }));
  }

  /** Empties the read model and its checkpoints, for a rebuild. */
  async clear(): Promise<void> {
    await inTransaction(this.pool, async (connection) => {
      await connection.query(`DELETE FROM \`${this.comments}\``);
      await this.checkpointTable.clear(connection, COMMENTS_PROJECTION);
    });
  }
}
