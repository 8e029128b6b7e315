import type { Collection, Db, Filter } from "mongodb";
import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { MongoCheckpoints } from "../../../../infra/mongo/mongo-checkpoints.js";
import { newestFirstPage } from "../../../../infra/mongo/mongo-pages.js";
import type { RebuildableSink } from "../../../../platform/projection/rebuild.js";
import { RECORDINGS_PROJECTION, recordingChanges, type RecordingChange } from "./recording-changes.js";
import type { Reader, RecordingsCursor, RecordingsReadModel, RecordingStatus, RecordingView } from "./recordings-port.js";

interface RecordingDocument {
  /** `<callId>:<recordingId>`: recording ids are the gateways' (UUIDs), this keeps two calls' apart whatever they are. */
  _id: string;
  recordingId: string;
  callId: string;
  workspaceId: string;
  startedBy: string;
  startedAt: number;
  stoppedAt: number | null;
  durationMs: number | null;
  status: RecordingStatus;
  size: number | null;
  contentType: string | null;
  objectKey: string | null;
  deletedAt: number | null;
  /** The call's participants: who may read it. */
  readers: string[];
  /** Offset of the last event applied to this recording. */
  version: number;
}

/** A call whose recordings are projected: who took part in it. */
interface CallDocument {
  /** The call id. */
  _id: string;
  workspaceId: string;
  participants: string[];
}

/**
 * Recordings in MongoDB: collection `<prefix>recordings` (one document per recording), the
 * participants of each call in `<prefix>recording_calls`, and the projection's checkpoints in
 * `<prefix>projection_checkpoints` (`{_id: "recordings:<topic>:<partition>", nextOffset}`, beside
 * the history's).
 *
 * Without multi-document transactions (the local mongo-java-server has none), every write is
 * idempotent, as the history's (DESIGN §7): a recording's start is an upsert with `$setOnInsert`;
 * its later changes are conditioned on `version < offset` (all events of a call share one
 * partition, so offsets grow along a recording's life); participants are sets (`$addToSet`). The
 * records of a partition are applied one after the other, in offset order, then the checkpoint
 * advances with `$max`. A crash between the writes and the checkpoint replays the records at or
 * above the checkpoint, which either already took effect (no-op) or take effect now: the read
 * model ends as if each record had been applied once. A recording's readers are the call's
 * participants when it started plus whoever joins after; a replay may add a later participant
 * earlier, to the same end. The client is the caller's: `close` leaves it open.
 */
export class MongoRecordingsStore implements RebuildableSink, RecordingsReadModel {
  private readonly recordings: Collection<RecordingDocument>;
  private readonly calls: Collection<CallDocument>;
  private readonly checkpointStore: MongoCheckpoints;

  constructor(db: Db, collectionPrefix = "") {
    this.recordings = db.collection<RecordingDocument>(`${collectionPrefix}recordings`);
    this.calls = db.collection<CallDocument>(`${collectionPrefix}recording_calls`);
    this.checkpointStore = new MongoCheckpoints(db, collectionPrefix, RECORDINGS_PROJECTION);
  }

  async ensureSchema(): Promise<void> {
    await this.recordings.createIndex({ recordingId: 1 }, { name: "by_recording_id" });
    await this.recordings.createIndex({ callId: 1 }, { name: "by_call" });
    await this.recordings.createIndex({ workspaceId: 1, readers: 1, startedAt: -1, _id: -1 }, { name: "by_reader_newest" });
    await this.checkpointStore.ensureSchema();
  }

  checkpoints(topic: string): Promise<Map<number, number>> {
    return this.checkpointStore.of(topic);
  }

  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    return this.checkpointStore.applyFresh(topic, partition, records, async (fresh) => {
      // One after the other: a start reads the participants the events before it wrote.
      for (const change of fresh.flatMap((record) => recordingChanges(record))) await this.write(change);
    });
  }

  private async write(change: RecordingChange): Promise<void> {
    const { callId } = change;
    if (change.kind === "participant") {
      const { workspaceId, userId } = change;
      await this.calls.updateOne({ _id: callId }, { $setOnInsert: { workspaceId }, $addToSet: { participants: userId } }, { upsert: true });
      if (change.recordingsExist) await this.recordings.updateMany({ callId }, { $addToSet: { readers: userId } });
      return;
    }
    const { version } = change;
    const _id = `${callId}:${change.recordingId}`;
    if (change.kind === "started") {
      const { workspaceId, recordingId, startedBy, startedAt } = change;
      const call = await this.calls.findOne({ _id: callId });
      const readers = [...new Set([...(call?.participants ?? []), startedBy])];
      const fields = { recordingId, callId, workspaceId, startedBy, startedAt, stoppedAt: null, durationMs: null, status: "recording" as const };
      const media = { size: null, contentType: null, objectKey: null, deletedAt: null };
      await this.recordings.updateOne({ _id }, { $setOnInsert: { ...fields, ...media, version }, $addToSet: { readers: { $each: readers } } }, { upsert: true });
      return;
    }
    const current: Filter<RecordingDocument> = { _id, version: { $lt: version } };
    switch (change.kind) {
      case "stopped":
        await this.recordings.updateOne({ ...current, status: "recording" }, { $set: { status: "stopped", stoppedAt: change.stoppedAt, durationMs: change.durationMs, version } });
        return;
      case "uploaded": {
        const { objectKey, size, contentType } = change;
        await this.recordings.updateOne({ ...current, status: "stopped" }, { $set: { status: "uploaded", objectKey, size, contentType, version } });
        return;
      }
      case "deleted":
        await this.recordings.updateOne(current, { $set: { status: "deleted", deletedAt: change.deletedAt, version } });
        return;
      default: {
        const unknown: never = change;
        throw new Error(`unknown recording change ${JSON.stringify(unknown)}`);
      }
    }
  }

  async recording(recordingId: string, reader: Reader): Promise<RecordingView | undefined> {
    const document = await this.recordings.findOne({ recordingId, workspaceId: reader.workspaceId, readers: reader.userId });
    return document === null ? undefined : viewOf(document);
  }

  async recordingsOf(reader: Reader, page: { readonly limit: number; readonly after?: RecordingsCursor }): Promise<{ recordings: RecordingView[]; next?: RecordingsCursor }> {
    const mine: Filter<RecordingDocument> = { workspaceId: reader.workspaceId, readers: reader.userId, status: { $ne: "deleted" } };
    const { after } = page;
    const { documents, last } = await newestFirstPage(this.recordings, mine, "startedAt", {
      limit: page.limit,
      ...(after === undefined ? {} : { after: { at: after.startedAt, id: after.key } }),
    });
    const recordings = documents.map(viewOf);
    return last === undefined ? { recordings } : { recordings, next: { startedAt: last.startedAt, key: last._id } };
  }

  async clear(): Promise<void> {
    // Checkpoints first: should a later delete fail, replay from the start repairs the read model.
    await this.checkpointStore.clear();
    await this.recordings.deleteMany({});
    await this.calls.deleteMany({});
  }

  async close(): Promise<void> {
    // The client is shared with other adapters and closed by the composition root.
  }
}

function viewOf(document: RecordingDocument): RecordingView {
  const { recordingId, callId, workspaceId, startedBy, startedAt, stoppedAt, durationMs, status, size, contentType, objectKey, readers } = document;
  return { id: recordingId, callId, workspaceId, startedBy, startedAt, stoppedAt, durationMs, status, size, contentType, objectKey, participants: [...readers].sort() };
}
