import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoRecordingsStore } from "../../../../src/contexts/calls/projections/recordings/mongo-recordings-store.js";
import { RECORDINGS_PROJECTION } from "../../../../src/contexts/calls/projections/recordings/recording-changes.js";
import type { ConsumedRecord } from "../../../../src/infra/kafka/record-consumer.js";
import { tablePrefixOf } from "../../../../src/infra/mysql/mysql-pool.js";
import type { EventMeta } from "../../../../src/platform/contract/generated/avro-types.js";
import { testConfig, uniquePrefix } from "../../../support/test-config.js";

const config = testConfig();
const prefix = tablePrefixOf(uniquePrefix("recordings-store"));
const TOPIC = "quikapp.calls.events";
const T0 = 1_700_000_000_000;

/** Records of one partition, at consecutive offsets from 0. */
function partitionOf(...events: [type: string, at: number, data: { callId: string; workspaceId?: string } & Record<string, unknown>][]): ConsumedRecord[] {
  return events.map(([type, at, data], offset) => {
    const { workspaceId = "w1", ...fields } = data;
    const meta: EventMeta = { eventId: `e-${offset}`, occurredAt: at, correlationId: "c", causationId: null, actorId: "a", workspaceId };
    return { topic: TOPIC, partition: 0, offset, key: fields.callId, timestamp: at, headers: {}, fullName: `quikchat.calls.${type}`, value: { meta, ...fields } };
  });
}

/**
 * Call 1 (w1): alice calls bob; bob joins; alice records rec-a, stops, uploads, starts rec-b;
 * dan joins after both started. Call 2 (w2): mallory records rec-m. Call 3 (w1): rec-d, deleted.
 */
const records = partitionOf(
  ["CallStarted", T0, { callId: "call-1", callerId: "alice", calleeIds: ["bob", "dan"], callType: "video", conversationId: null, ringingExpiresAt: T0 + 60_000 }],
  ["ParticipantJoined", T0 + 1, { callId: "call-1", userId: "bob" }],
  ["RecordingStarted", T0 + 10, { callId: "call-1", recordingId: "rec-a", startedBy: "alice" }],
  ["RecordingStopped", T0 + 20, { callId: "call-1", recordingId: "rec-a", stoppedBy: "bob", durationMs: 10 }],
  ["RecordingUploaded", T0 + 30, { callId: "call-1", recordingId: "rec-a", uploadedBy: "alice", objectKey: "w1/call-1/rec-a/1", size: 99, contentType: "audio/ogg" }],
  ["RecordingStarted", T0 + 40, { callId: "call-1", recordingId: "rec-b", startedBy: "bob" }],
  ["ParticipantJoined", T0 + 50, { callId: "call-1", userId: "dan" }],
  ["CallStarted", T0, { workspaceId: "w2", callId: "call-2", callerId: "mallory", calleeIds: ["eve"], callType: "audio", conversationId: null, ringingExpiresAt: T0 }],
  ["RecordingStarted", T0 + 60, { workspaceId: "w2", callId: "call-2", recordingId: "rec-m", startedBy: "mallory" }],
  ["CallStarted", T0, { callId: "call-3", callerId: "alice", calleeIds: ["bob"], callType: "audio", conversationId: null, ringingExpiresAt: T0 }],
  ["RecordingStarted", T0 + 70, { callId: "call-3", recordingId: "rec-d", startedBy: "alice" }],
  ["RecordingStopped", T0 + 71, { callId: "call-3", recordingId: "rec-d", stoppedBy: null, durationMs: 1 }],
  ["RecordingDeleted", T0 + 72, { callId: "call-3", recordingId: "rec-d", deletedBy: "alice", objectKey: null }],
);

describe("the recordings read model in MongoDB", () => {
  const client = new MongoClient(config.mongo.url);
  let store: MongoRecordingsStore;
  const alice = { userId: "alice", workspaceId: "w1" };

  beforeAll(async () => {
    await client.connect();
    store = new MongoRecordingsStore(client.db(), prefix);
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store.clear();
    await client.close();
  });

  /** Everything the read model holds, as the documents are (versions included). */
  const everything = async () => ({
    recordings: await client.db().collection(`${prefix}recordings`).find({}).sort({ _id: 1 }).toArray(),
    calls: await client.db().collection(`${prefix}recording_calls`).find({}).sort({ _id: 1 }).toArray(),
  });

  it("folds a recording's life from the calls' events, readable by the call's participants only", async () => {
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await store.checkpoints(TOPIC)).toEqual(new Map([[0, records.length]]));
    expect(await store.recording("rec-a", alice)).toEqual({
      id: "rec-a",
      callId: "call-1",
      workspaceId: "w1",
      startedBy: "alice",
      startedAt: T0 + 10,
      stoppedAt: T0 + 20,
      durationMs: 10,
      status: "uploaded",
      size: 99,
      contentType: "audio/ogg",
      objectKey: "w1/call-1/rec-a/1",
      participants: ["alice", "bob", "dan"],
    });
    expect(await store.recording("rec-b", { userId: "dan", workspaceId: "w1" })).toMatchObject({ status: "recording", startedBy: "bob", stoppedAt: null });
    expect(await store.recording("rec-a", { userId: "eve", workspaceId: "w1" })).toBeUndefined();
    expect(await store.recording("rec-a", { userId: "alice", workspaceId: "w2" })).toBeUndefined();
    expect(await store.recording("rec-m", alice)).toBeUndefined();
    expect(await store.recording("rec-d", alice)).toMatchObject({ status: "deleted" });
  });

  it("lists a reader's recordings newest first, a page at a time, without the deleted ones", async () => {
    const first = await store.recordingsOf(alice, { limit: 1 });
    expect(first.recordings.map((recording) => recording.id)).toEqual(["rec-b"]);
    expect(first.next).toBeDefined();
    const second = await store.recordingsOf(alice, { limit: 1, after: first.next! });
    expect(second.recordings.map((recording) => recording.id)).toEqual(["rec-a"]);
    expect(second.next).toBeUndefined();
    expect((await store.recordingsOf({ userId: "mallory", workspaceId: "w2" }, { limit: 10 })).recordings.map((recording) => recording.id)).toEqual(["rec-m"]);
  });

  it("changes nothing when the same records are applied again, below or above the checkpoint", async () => {
    const before = await everything();
    expect(await store.apply(TOPIC, 0, records)).toEqual([]);
    // A crash between the writes and the checkpoint: the records are applied a second time.
    await client.db().collection(`${prefix}projection_checkpoints`).deleteOne({ _id: `${RECORDINGS_PROJECTION}:${TOPIC}:0` } as never);
    expect(await store.apply(TOPIC, 0, records)).toHaveLength(records.length);
    expect(await everything()).toEqual(before);
  });

  it("is rebuilt the same from the beginning after a clear", async () => {
    const before = await everything();
    await store.clear();
    expect(await store.checkpoints(TOPIC)).toEqual(new Map());
    for (let at = 0; at < records.length; at += 4) await store.apply(TOPIC, 0, records.slice(at, at + 4));
    expect(await everything()).toEqual(before);
  });
});
