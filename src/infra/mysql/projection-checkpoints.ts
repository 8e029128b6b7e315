import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";

/**
 * Checkpoints of MySQL-backed projections, one row per (projection, topic, partition), stored
 * in the same database as the read models so both commit in one transaction.
 */
export class MysqlCheckpoints {
  readonly table: string;
  /** Checkpoint rows known to exist, which need no insert before they are locked (forgotten by `clear`). */
  private readonly seen = new Set<string>();

  constructor(
    private readonly pool: Pool,
    tablePrefix: string,
  ) {
    this.table = `${tablePrefix}projection_checkpoints`;
  }

  async ensureSchema(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS \`${this.table}\` (
        projection VARCHAR(64) NOT NULL,
        topic VARCHAR(249) NOT NULL,
        partition_id INT NOT NULL,
        next_offset BIGINT NOT NULL,
        PRIMARY KEY (projection, topic, partition_id)
      ) ENGINE=InnoDB`,
    );
  }

  /** Every checkpoint of `projection` on `topic`; none before the table exists (nothing applied yet: readers need not create it). */
  async all(projection: string, topic: string): Promise<Map<number, number>> {
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        `SELECT partition_id, next_offset FROM \`${this.table}\` WHERE projection = ? AND topic = ?`,
        [projection, topic],
      );
      return new Map(rows.map((row) => [Number(row.partition_id), Number(row.next_offset)]));
    } catch (error) {
      if ((error as { code?: string }).code === "ER_NO_SUCH_TABLE") return new Map();
      throw error;
    }
  }

  /**
   * The checkpoint of one partition, locked until the transaction of `connection` ends. A row not
   * seen yet is created first (next offset 0, which the same transaction overwrites with `save`):
   * a locking read of a missing row takes a gap lock, and two transactions holding one gap would
   * deadlock as soon as both insert (partitions applied at the same time, the first time).
   */
  async lock(connection: PoolConnection, projection: string, topic: string, partition: number): Promise<number> {
    const id = `${projection}\u0000${topic}\u0000${partition}`;
    if (!this.seen.has(id)) {
      await connection.query(`INSERT IGNORE INTO \`${this.table}\` (projection, topic, partition_id, next_offset) VALUES (?, ?, ?, 0)`, [
        projection,
        topic,
        partition,
      ]);
    }
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT next_offset FROM \`${this.table}\` WHERE projection = ? AND topic = ? AND partition_id = ? FOR UPDATE`,
      [projection, topic, partition],
    );
    if (rows.length === 0) return 0;
    this.seen.add(id);
    return Number(rows[0]!.next_offset);
  }

  async save(connection: PoolConnection, projection: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    await connection.query(
      `INSERT INTO \`${this.table}\` (projection, topic, partition_id, next_offset) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset)`,
      [projection, topic, partition, nextOffset],
    );
  }

  async clear(connection: PoolConnection | Pool, projection: string): Promise<void> {
    this.seen.clear();
    await connection.query(`DELETE FROM \`${this.table}\` WHERE projection = ?`, [projection]);
  }
}

/** Runs `work` in a transaction on a pooled connection: commit on success, rollback on failure. */
export async function inTransaction<T>(pool: Pool, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    await connection.beginTransaction();
    const result = await work(connection);
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  } finally {
    connection.release();
  }
}
