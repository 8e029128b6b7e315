import type { Pool, RowDataPacket } from "mysql2/promise";
import type { ChannelSettings, ChannelType } from "../../../../platform/contract/generated/avro-types.js";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { inTransaction, MysqlCheckpoints } from "../../../../infra/mysql/projection-checkpoints.js";
import type { ProjectionSink } from "../../../../platform/projection/projection-runtime.js";
import { CHANNELS_PROJECTION, channelChanges, type Publication } from "./channel-changes.js";

/** A channel as the registry knows it. */
export interface ChannelView {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly channelType: ChannelType;
  readonly ownerId: string | null;
  readonly settings: ChannelSettings;
  readonly createdAt: number;
  readonly subscriberCount: number;
}

/** A page of history: publications in ascending seq. */
export interface PublicationRange {
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  /** 1..1000. */
  readonly limit: number;
  /** With only `beforeSeq` (or nothing), the newest `limit` instead of the oldest. */
  readonly from?: "oldest" | "newest";
}

/**
 * The channels read model in MySQL: the registry of channels, their subscribers and their
 * publications (only for channels with history on), with the projection's checkpoint in the
 * same transaction. Gateways read it for joins, history and the server API's reads. Expired
 * publications are never returned; the projection deletes them as it goes.
 */
export class MysqlChannelStore implements ProjectionSink {
  private readonly channels: string;
  private readonly subscribers: string;
  private readonly publications: string;
  private readonly checkpointTable: MysqlCheckpoints;

  constructor(
    private readonly pool: Pool,
    tablePrefix = "",
    private readonly now: () => number = Date.now,
  ) {
    this.channels = `${tablePrefix}channels`;
    this.subscribers = `${tablePrefix}channel_subscribers`;
    this.publications = `${tablePrefix}channel_publications`;
    this.checkpointTable = new MysqlCheckpoints(pool, tablePrefix);
  }

  async ensureSchema(): Promise<void> {
    await this.checkpointTable.ensureSchema();
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.channels}\` (
        id VARCHAR(128) NOT NULL PRIMARY KEY,
        workspace_id VARCHAR(128) NOT NULL,
        name VARCHAR(255) NOT NULL,
        type VARCHAR(16) NOT NULL,
        owner_id VARCHAR(128) NULL,
        settings JSON NOT NULL,
        created_at BIGINT NOT NULL,
        KEY by_workspace (workspace_id, id)
      ) ENGINE=InnoDB`,
    );
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.subscribers}\` (
        channel_id VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        PRIMARY KEY (channel_id, user_id)
      ) ENGINE=InnoDB`,
    );
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.publications}\` (
        channel_id VARCHAR(128) NOT NULL,
        seq BIGINT NOT NULL,
        data MEDIUMTEXT NOT NULL,
        publisher_id VARCHAR(128) NULL,
        published_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (channel_id, seq),
        KEY by_expiry (expires_at)
      ) ENGINE=InnoDB`,
    );
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointTable.all(CHANNELS_PROJECTION, topic);
  }

  async apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return inTransaction(this.pool, async (connection) => {
      const from = await this.checkpointTable.lock(connection, CHANNELS_PROJECTION, topic, partition);
      const fresh = records.filter((record) => record.offset >= from);
      for (const change of fresh.flatMap((record) => channelChanges(record))) {
        switch (change.kind) {
          case "created":
            await connection.query(
              `REPLACE INTO \`${this.channels}\` (id, workspace_id, name, type, owner_id, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
              [change.channelId, change.workspaceId, change.name, change.channelType, change.ownerId, JSON.stringify(change.settings), change.createdAt],
            );
            break;
          case "deleted":
            await connection.query(`DELETE FROM \`${this.channels}\` WHERE id = ?`, [change.channelId]);
            await connection.query(`DELETE FROM \`${this.subscribers}\` WHERE channel_id = ?`, [change.channelId]);
            await connection.query(`DELETE FROM \`${this.publications}\` WHERE channel_id = ?`, [change.channelId]);
            break;
          case "settings_updated":
            await connection.query(`UPDATE \`${this.channels}\` SET settings = ? WHERE id = ?`, [JSON.stringify(change.settings), change.channelId]);
            break;
          case "subscribed":
            await connection.query(`INSERT IGNORE INTO \`${this.subscribers}\` (channel_id, user_id) VALUES (?, ?)`, [change.channelId, change.userId]);
            break;
          case "unsubscribed":
            await connection.query(`DELETE FROM \`${this.subscribers}\` WHERE channel_id = ? AND user_id = ?`, [change.channelId, change.userId]);
            break;
          case "published": {
            const { publication } = change;
            if (publication.expiresAt === null) break;
            await connection.query(
              `INSERT IGNORE INTO \`${this.publications}\` (channel_id, seq, data, publisher_id, published_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
              [publication.channelId, publication.seq, publication.data, publication.publisherId, publication.publishedAt, publication.expiresAt],
            );
            break;
          }
          case "history_removed":
            await connection.query(`DELETE FROM \`${this.publications}\` WHERE channel_id = ? AND seq <= ?`, [change.channelId, change.upToSeq]);
            break;
        }
      }
      if (fresh.length > 0) {
        // Expiry is not an event: readers already skip expired rows; this keeps the table small.
        await connection.query(`DELETE FROM \`${this.publications}\` WHERE expires_at <= ? LIMIT 1000`, [this.now()]);
        await this.checkpointTable.save(connection, CHANNELS_PROJECTION, topic, partition, fresh[fresh.length - 1]!.offset + 1);
      }
      return fresh;
    });
  }

  /** The channel, or undefined when unknown or deleted. */
  async channel(id: string): Promise<ChannelView | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT c.*, (SELECT COUNT(*) FROM \`${this.subscribers}\` s WHERE s.channel_id = c.id) AS subscriber_count FROM \`${this.channels}\` c WHERE c.id = ?`,
      [id],
    );
    return rows[0] === undefined ? undefined : viewOf(rows[0]);
  }

  async isSubscribed(channelId: string, userId: string): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT 1 FROM \`${this.subscribers}\` WHERE channel_id = ? AND user_id = ?`, [channelId, userId]);
    return rows.length > 0;
  }

  /** The channels `userId` is subscribed to, in id order. */
  async channelsOf(userId: string): Promise<string[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT channel_id FROM \`${this.subscribers}\` WHERE user_id = ? ORDER BY channel_id`, [userId]);
    return rows.map((row) => String(row.channel_id));
  }

  /** The channel's subscribers, in id order. */
  async subscribersOf(channelId: string): Promise<string[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT user_id FROM \`${this.subscribers}\` WHERE channel_id = ? ORDER BY user_id`, [channelId]);
    return rows.map((row) => String(row.user_id));
  }

  /** A page of a workspace's channels in id order, after `afterId`. */
  async list(workspaceId: string, page: { readonly limit: number; readonly afterId?: string }): Promise<ChannelView[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT c.*, (SELECT COUNT(*) FROM \`${this.subscribers}\` s WHERE s.channel_id = c.id) AS subscriber_count
       FROM \`${this.channels}\` c WHERE c.workspace_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
      [workspaceId, page.afterId ?? "", page.limit],
    );
    return rows.map(viewOf);
  }

  /** Unexpired publications of the channel in ascending seq, never more than `limit`. */
  async publicationsOf(channelId: string, range: PublicationRange): Promise<Publication[]> {
    const conditions = ["channel_id = ?", "expires_at > ?"];
    const values: unknown[] = [channelId, this.now()];
    if (range.afterSeq !== undefined) {
      conditions.push("seq > ?");
      values.push(range.afterSeq);
    }
    if (range.beforeSeq !== undefined) {
      conditions.push("seq < ?");
      values.push(range.beforeSeq);
    }
    const newest = range.afterSeq === undefined && range.from === "newest";
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM \`${this.publications}\` WHERE ${conditions.join(" AND ")} ORDER BY seq ${newest ? "DESC" : "ASC"} LIMIT ?`,
      [...values, Math.min(Math.max(range.limit, 1), 1000)],
    );
    const publications = rows.map(publicationOf);
    return newest ? publications.reverse() : publications;
  }

  /** The highest seq in the channel's history (0 when none). */
  async lastSeq(channelId: string): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT MAX(seq) AS last FROM \`${this.publications}\` WHERE channel_id = ?`, [channelId]);
    return Number(rows[0]?.last ?? 0);
  }

  /** Empties the read model and its checkpoints, for a rebuild. */
  async clear(): Promise<void> {
    await inTransaction(this.pool, async (connection) => {
      await connection.query(`DELETE FROM \`${this.publications}\``);
      await connection.query(`DELETE FROM \`${this.subscribers}\``);
      await connection.query(`DELETE FROM \`${this.channels}\``);
      await this.checkpointTable.clear(connection, CHANNELS_PROJECTION);
    });
  }
}

function viewOf(row: RowDataPacket): ChannelView {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    name: String(row.name),
    channelType: String(row.type) as ChannelType,
    ownerId: row.owner_id === null ? null : String(row.owner_id),
    settings: (typeof row.settings === "string" ? JSON.parse(row.settings) : row.settings) as ChannelSettings,
    createdAt: Number(row.created_at),
    subscriberCount: Number(row.subscriber_count ?? 0),
  };
}

function publicationOf(row: RowDataPacket): Publication {
  return {
    channelId: String(row.channel_id),
    seq: Number(row.seq),
    data: String(row.data),
    publisherId: row.publisher_id === null ? null : String(row.publisher_id),
    publishedAt: Number(row.published_at),
    expiresAt: Number(row.expires_at),
  };
}
