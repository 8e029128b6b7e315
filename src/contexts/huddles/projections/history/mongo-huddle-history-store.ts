import type { Collection, Db } from "mongodb";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { MongoCheckpoints } from "../../../../infra/mongo/mongo-checkpoints.js";
import { newestFirstPage } from "../../../../infra/mongo/mongo-pages.js";
import type { HuddleEndReason } from "../../../../platform/contract/generated/avro-types.js";
import type { RebuildableSink } from "../../../../platform/projection/rebuild.js";
import { HUDDLE_HISTORY_PROJECTION, huddleHistoryChanges, type HuddleHistoryChange, type ParticipationEnd } from "./huddle-history-changes.js";
import type { HuddleHistoryReadModel, HuddleHistoryView, HuddleRecordView, HuddlesCursor } from "./huddle-history-port.js";

interface HuddleDocument {
  /** The huddle id (one aggregate per id, whatever the workspace). */
  _id: string;
  workspaceId: string;
  conversationId: string | null;
  title: string | null;
  createdBy: string;
  createdAt: number;
  invited: string[];
  endedAt: number | null;
  endReason: HuddleEndReason | null;
  endedBy: string | null;
  durationMs: number | null;
}

interface ParticipationDocument {
  /** `<huddleId>:<offset of the join>`. */
  _id: string;
  huddleId: string;
  workspaceId: string;
  userId: string;
  joinedAt: number;
  leftAt: number | null;
  reason: ParticipationEnd | null;
  /** Offset of the join: a leave closes only the participations begun before it. */
  version: number;
}

/**
 * The huddles' history in MongoDB: collection `<prefix>huddles` (one document per huddle: its
 * conversation, title, creator, invitees, creation and end), `<prefix>huddle_participations` (one
 * document per join, closed by its leave or the huddle's end), and the projection's checkpoints
 * in `<prefix>projection_checkpoints` (`{_id: "huddle-history:<topic>:<partition>", nextOffset}`).
 *
 * Without multi-document transactions every write is idempotent, as the recordings' are: a
 * creation and a join are upserts with `$setOnInsert` (a join's id is its offset); invitees are a
 * set; a leave closes the user's open participations begun before it (`version < offset`), so a
 * replayed leave cannot close a later stay; the end is set once (`endedAt: null`) and closes the
 * stays still open. Records of a partition are applied in offset order, then the checkpoint
 * advances with `$max`; a crash in between replays records that change nothing or take effect
 * now. The client is the caller's: `close` leaves it open.
 */
export class MongoHuddleHistoryStore implements RebuildableSink, HuddleHistoryReadModel {
  private readonly huddles: Collection<HuddleDocument>;
  private readonly participations: Collection<ParticipationDocument>;
  private readonly checkpointStore: MongoCheckpoints;

  constructor(db: Db, collectionPrefix = "") {
    this.huddles = db.collection<HuddleDocument>(`${collectionPrefix}huddles`);
    this.participations = db.collection<ParticipationDocument>(`${collectionPrefix}huddle_participations`);
    this.checkpointStore = new MongoCheckpoints(db, collectionPrefix, HUDDLE_HISTORY_PROJECTION);
  }

  async ensureSchema(): Promise<void> {
    await this.huddles.createIndex({ workspaceId: 1, conversationId: 1, createdAt: -1, _id: -1 }, { name: "by_conversation_newest" });
    await this.participations.createIndex({ huddleId: 1, version: 1 }, { name: "by_huddle" });
    await this.checkpointStore.ensureSchema();
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointStore.of(topic);
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return this.checkpointStore.applyFresh(topic, partition, records, async (fresh) => {
      // One after the other: a leave closes what the joins before it opened.
      for (const change of fresh.flatMap((record) => huddleHistoryChanges(record))) await this.write(change);
    });
  }

  private async write(change: HuddleHistoryChange): Promise<void> {
    const { huddleId } = change;
    switch (change.kind) {
      case "created": {
        const { workspaceId, conversationId, title, createdBy, createdAt } = change;
        const fields = { workspaceId, conversationId, title, createdBy, createdAt, invited: [], endedAt: null, endReason: null, endedBy: null, durationMs: null };
        await this.huddles.updateOne({ _id: huddleId }, { $setOnInsert: fields }, { upsert: true });
        return;
      }
      case "invited":
        await this.huddles.updateOne({ _id: huddleId }, { $addToSet: { invited: { $each: [...change.userIds] } } });
        return;
      case "joined": {
        const { workspaceId, userId, joinedAt, version } = change;
        const fields = { huddleId, workspaceId, userId, joinedAt, leftAt: null, reason: null, version };
        await this.participations.updateOne({ _id: `${huddleId}:${version}` }, { $setOnInsert: fields }, { upsert: true });
        return;
      }
      case "left": {
        const { userId, leftAt, reason, version } = change;
        await this.participations.updateMany({ huddleId, userId, leftAt: null, version: { $lt: version } }, { $set: { leftAt, reason } });
        return;
      }
      case "ended": {
        const { endedAt, reason, endedBy, durationMs, version } = change;
        await this.huddles.updateOne({ _id: huddleId, endedAt: null }, { $set: { endedAt, endReason: reason, endedBy, durationMs } });
        await this.participations.updateMany({ huddleId, leftAt: null, version: { $lt: version } }, { $set: { leftAt: endedAt, reason: "ended" } });
        return;
      }
      default: {
        const unknown: never = change;
        throw new Error(`unknown huddle history change ${JSON.stringify(unknown)}`);
      }
    }
  }

  async huddle(huddleId: string, workspaceId: string): Promise<HuddleHistoryView | undefined> {
    const document = await this.huddles.findOne({ _id: huddleId, workspaceId });
    if (document === null) return undefined;
    const participations = await this.participations.find({ huddleId, workspaceId }).sort({ version: 1 }).toArray();
    return {
      ...recordOf(document),
      participations: participations.map(({ userId, joinedAt, leftAt, reason }) => ({ userId, joinedAt, leftAt, reason })),
    };
  }

  async huddlesOfConversation(
    conversationId: string,
    workspaceId: string,
    page: { readonly limit: number; readonly after?: HuddlesCursor },
  ): Promise<{ huddles: HuddleRecordView[]; next?: HuddlesCursor }> {
    const { after } = page;
    const { documents, last } = await newestFirstPage(this.huddles, { workspaceId, conversationId }, "createdAt", {
      limit: page.limit,
      ...(after === undefined ? {} : { after: { at: after.createdAt, id: after.huddleId } }),
    });
    const huddles = documents.map(recordOf);
    return last === undefined ? { huddles } : { huddles, next: { createdAt: last.createdAt, huddleId: last._id } };
  }

  async clear(): Promise<void> {
    // Checkpoints first: should a later delete fail, replay from the start repairs the read model.
    await this.checkpointStore.clear();
    await this.huddles.deleteMany({});
    await this.participations.deleteMany({});
  }

  async close(): Promise<void> {
    // The client is shared with other adapters and closed by the composition root.
  }
}

function recordOf(document: HuddleDocument): HuddleRecordView {
  const { _id, workspaceId, conversationId, title, createdBy, createdAt, invited, endedAt, endReason, endedBy, durationMs } = document;
  return { huddleId: _id, workspaceId, conversationId, title, createdBy, createdAt, invited: [...invited].sort(), endedAt, endReason, endedBy, durationMs };
}
