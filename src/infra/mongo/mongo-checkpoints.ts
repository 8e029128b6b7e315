import type { Collection, Db } from "mongodb";
import type { ConsumedRecord } from "../kafka/record-consumer.js";

interface CheckpointDocument {
  /** `<projection>:<topic>:<partition>` */
  _id: string;
  projection: string;
  topic: string;
  partition: number;
  nextOffset: number;
}

/**
 * The checkpoints of one projection whose read model is in MongoDB, beside the others' in
 * `<prefix>projection_checkpoints` (`{_id: "<projection>:<topic>:<partition>", nextOffset}`).
 *
 * Without multi-document transactions, a store writes its read model idempotently, then
 * {@link applyFresh} advances the checkpoint with `$max` once those writes were acknowledged: a
 * crash between them replays records the store applies as no-ops, the checkpoint never gets
 * ahead of the writes, and a slow, superseded consumer cannot move it back.
 */
export class MongoCheckpoints {
  private readonly collection: Collection<CheckpointDocument>;

  constructor(
    db: Db,
    collectionPrefix: string,
    private readonly projection: string,
  ) {
    this.collection = db.collection<CheckpointDocument>(`${collectionPrefix}projection_checkpoints`);
  }

  async ensureSchema(): Promise<void> {
    await this.collection.createIndex({ projection: 1, topic: 1 }, { name: "by_projection_topic" });
  }

  /** The next offset to read for each partition of `topic` that has a checkpoint. */
  async of(topic: string): Promise<Map<number, number>> {
    const documents = await this.collection.find({ projection: this.projection, topic }).toArray();
    return new Map(documents.map((document) => [document.partition, document.nextOffset]));
  }

  /**
   * Runs `write` with the records at or above the partition's checkpoint, then moves the
   * checkpoint past the last of them; resolves with those records (none: nothing is written).
   */
  async applyFresh(topic: string, partition: number, records: readonly ConsumedRecord[], write: (fresh: readonly ConsumedRecord[]) => Promise<void>): Promise<readonly ConsumedRecord[]> {
    const { projection } = this;
    const _id = `${projection}:${topic}:${partition}`;
    const checkpoint = await this.collection.findOne({ _id });
    const from = checkpoint?.nextOffset ?? 0;
    const fresh = records.filter((record) => record.offset >= from);
    if (fresh.length === 0) return [];
    await write(fresh);
    await this.collection.updateOne({ _id }, { $max: { nextOffset: fresh[fresh.length - 1]!.offset + 1 }, $setOnInsert: { projection, topic, partition } }, { upsert: true });
    return fresh;
  }

  /** Forgets every checkpoint of the projection (a rebuild starts from the beginning). */
  async clear(): Promise<void> {
    await this.collection.deleteMany({ projection: this.projection });
  }
}
