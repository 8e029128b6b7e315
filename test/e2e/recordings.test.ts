import { randomBytes, randomUUID } from "node:crypto";
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import type { Channel, Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import { RecordProducer } from "../../src/infra/kafka/record-producer.js";
import { tablePrefixOf } from "../../src/infra/mysql/mysql-pool.js";
import { openS3ObjectStore, type S3ObjectStoreOptions } from "../../src/infra/s3/s3-object-store.js";
import { s3StoreOptions } from "../../src/infra/s3/s3-store-options.js";
import type { CommandMeta } from "../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { ObjectNotFoundError, type ObjectStore } from "../../src/platform/storage/object-store.js";
import { connectSocket, joinChannel, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const MAX_BYTES = 64 * 1024;
const prefix = uniquePrefix("recordings");
const bucket = `qc-rec-e2e-${randomBytes(4).toString("hex")}`;
const env = { KAFKA_TOPIC_PREFIX: prefix, S3_BUCKET: bucket, RECORDING_MAX_BYTES: String(MAX_BYTES) };
const config = testConfig(env);
const logger = testLogger();

/**
 * Recordings through the whole service: a call set up with the stock phoenix client, recording
 * started and stopped by commands to the call (as the calls' REST routes send them), then the
 * media uploaded, listed, downloaded and deleted over `/api/recordings` — metadata from the
 * recordings read model in MongoDB, bytes through the local stack's S3Proxy.
 */
describe("recordings, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  let producer: RecordProducer;
  let storeOptions: S3ObjectStoreOptions;
  let store: ObjectStore;
  let s3: S3Client;
  const mongo = new MongoClient(config.mongo.url);
  const sockets: Socket[] = [];
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    ({ service, base } = await startService("recordings", env));
    const { codec } = await bootstrapContract(config, logger);
    producer = new RecordProducer(config.kafka, codec, logger);
    await mongo.connect();
    storeOptions = await s3StoreOptions(config.calls.recordings, config.stack.dir);
    store = await openS3ObjectStore(storeOptions);
    s3 = new S3Client({ region: storeOptions.region, endpoint: storeOptions.endpoint ?? "", forcePathStyle: true, ...(storeOptions.credentials ? { credentials: { ...storeOptions.credentials } } : {}) });
    for (const [user, workspace] of [["alice", "w1"], ["bob", "w1"], ["carol", "w1"], ["mallory", "w2"]] as const) tokens.set(user, await tokenFor(user, workspace));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service?.child.kill("SIGTERM");
    await service?.exited;
    await producer?.close();
    await store?.close();
    await mongo.close();
    if (s3 === undefined) return;
    try {
      for (const key of await storedUnder("")) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    } finally {
      s3.destroy();
    }
  });

  const api = (user: string, path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${tokens.get(user)!}`, ...(init.headers as Record<string, string> | undefined) } });
  const json = async (response: Response) => (await response.json()) as Payload;
  const upload = (user: string, recordingId: string, bytes: Buffer, contentType = "video/webm") =>
    api(user, `/api/recordings/${recordingId}/content`, { method: "PUT", body: bytes, headers: { "content-type": contentType } });

  /** A command to the call, as the calls' REST routes send it (nobody waits for its outcome). */
  async function command(type: "StartRecording" | "StopRecording", actorId: string, callId: string, recordingId?: string): Promise<void> {
    const meta: CommandMeta = { commandId: randomUUID(), correlationId: randomUUID(), actorId, workspaceId: "w1", issuedAt: Date.now(), replyTo: null };
    const value = type === "StartRecording" ? { meta, callId, recordingId } : { meta, callId };
    await producer.send([{ topic: prefix + TOPICS.calls.commands, key: callId, fullName: `quikchat.calls.${type}`, value }]);
  }

  /** The recording as `user` reads it, once its status is `status`. */
  const recordingOnceIn = (user: string, recordingId: string, status: string) =>
    eventually(
      async () => {
        const response = await api(user, `/api/recordings/${recordingId}`);
        const body = response.status === 200 ? await json(response) : undefined;
        return body?.status === status ? body : undefined;
      },
      20_000,
      `recording ${recordingId} ${status}`,
    );

  async function lobby(user: string): Promise<{ socket: Socket; channel: Channel }> {
    const socket = connectSocket(base, { token: tokens.get(user)! });
    sockets.push(socket);
    const channel = socket.channel("webrtc:lobby", {});
    await joinChannel(channel);
    return { socket, channel };
  }

  let callId: string;
  const recordingId = `rec-${randomUUID()}`;
  const media = randomBytes(40_000);

  beforeAll(async () => {
    const alice = await lobby("alice");
    const bob = await lobby("bob");
    await lobby("carol");
    const presence = await watchPresence(alice.socket, "w1");
    await eventually(async () => (["alice", "bob", "carol"].every((user) => presence.users().has(user)) ? true : undefined), 20_000, "presence of everyone");
    const initiated = await pushTo(alice.channel, "call:initiate", { calleeId: "bob", type: "video" });
    expect(initiated.status, JSON.stringify(initiated.response)).toBe("ok");
    callId = String(initiated.response.callId);
    await eventually(async () => ((await pushTo(bob.channel, "call:answer", { callId })).status === "ok" ? true : undefined), 20_000, "bob answers");
    await command("StartRecording", "alice", callId, recordingId);
  }, 60_000);

  it("shows a running recording to the call's participants, and to nobody else", async () => {
    const started = await recordingOnceIn("alice", recordingId, "recording");
    expect(started).toMatchObject({ id: recordingId, callId, startedBy: "alice", stoppedAt: null, size: null, contentType: null, participants: ["alice", "bob"] });
    expect(started.startedAt).toEqual(expect.any(Number));
    expect(await json(await api("bob", `/api/recordings/${recordingId}`))).toEqual(started);
    for (const [user, path] of [
      ["carol", `/api/recordings/${recordingId}`],
      ["mallory", `/api/recordings/${recordingId}`],
      ["alice", "/api/recordings/no-such-recording"],
      ["carol", `/api/recordings/${recordingId}/download`],
    ] as const) {
      expect((await api(user, path)).status, `${user} ${path}`).toBe(404);
    }
    expect(await json(await api("carol", "/api/recordings"))).toEqual({ recordings: [], nextCursor: null });
  });

  it("refuses media while the recording runs, and answers 404 for its download", async () => {
    const running = await upload("alice", recordingId, media);
    expect(running.status).toBe(409);
    expect(await json(running)).toMatchObject({ message: expect.stringMatching(/stop the recording/) });
    expect((await api("alice", `/api/recordings/${recordingId}/download`)).status).toBe(404);
  });

  it("takes the media from the participant who started it only, once stopped, within the size limit", async () => {
    await command("StopRecording", "bob", callId);
    const stopped = await recordingOnceIn("alice", recordingId, "stopped");
    expect(stopped.stoppedAt).toEqual(expect.any(Number));
    expect(stopped.durationMs).toEqual(expect.any(Number));
    expect((await api("bob", `/api/recordings/${recordingId}/download`)).status).toBe(404);

    expect((await upload("bob", recordingId, media)).status).toBe(403);
    expect((await upload("carol", recordingId, media)).status).toBe(404);
    expect((await upload("mallory", recordingId, media)).status).toBe(404);
    const oversized = await upload("alice", recordingId, randomBytes(MAX_BYTES + 1));
    expect(oversized.status).toBe(413);
    expect(await json(await api("alice", `/api/recordings/${recordingId}`))).toMatchObject({ status: "stopped", size: null });
    expect(await storedUnder(`w1/${callId}/${recordingId}/`)).toEqual([]);

    const uploaded = await upload("alice", recordingId, media);
    expect(uploaded.status, JSON.stringify(await uploaded.clone().json())).toBe(200);
    expect(await json(uploaded)).toMatchObject({ id: recordingId, status: "uploaded", size: media.length, contentType: "video/webm" });
    expect((await upload("alice", recordingId, media)).status).toBe(409);
  });

  it("lets another participant list it and download the same bytes, through S3", async () => {
    const listed = await json(await api("bob", "/api/recordings"));
    expect(listed).toMatchObject({ recordings: [{ id: recordingId, callId, status: "uploaded", size: media.length, contentType: "video/webm" }], nextCursor: null });
    const download = await api("bob", `/api/recordings/${recordingId}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("video/webm");
    expect(download.headers.get("content-length")).toBe(String(media.length));
    expect(Buffer.from(await download.arrayBuffer()).equals(media)).toBe(true);
    const [key] = await objectsOf(recordingId);
    expect(await storedUnder(`w1/${callId}/${recordingId}/`)).toEqual([key]);
    expect(await store.head(key!)).toMatchObject({ size: media.length, contentType: "video/webm" });
    expect((await api("mallory", `/api/recordings/${recordingId}/download`)).status).toBe(404);
  });

  it("lists newest first, a page at a time", async () => {
    const second = `rec-${randomUUID()}`;
    await command("StartRecording", "bob", callId, second);
    await recordingOnceIn("alice", second, "recording");
    const first = await json(await api("alice", "/api/recordings?limit=1"));
    expect(first).toMatchObject({ recordings: [{ id: second, startedBy: "bob" }], nextCursor: expect.any(String) });
    const next = await json(await api("alice", `/api/recordings?limit=1&cursor=${String(first.nextCursor)}`));
    expect(next).toMatchObject({ recordings: [{ id: recordingId }], nextCursor: null });
    expect((await api("alice", "/api/recordings?cursor=not-ours")).status).toBe(400);
    await command("StopRecording", "bob", callId);
    await recordingOnceIn("alice", second, "stopped");

    // An upload must say its length; one without a type is stored as bytes.
    const chunked = new ReadableStream<Uint8Array>({ start: (controller) => (controller.enqueue(new Uint8Array([1, 2, 3])), controller.close()) });
    const unsized = await api("bob", `/api/recordings/${second}/content`, { method: "PUT", body: chunked, duplex: "half" });
    expect(unsized.status).toBe(411);
    const untyped = await api("bob", `/api/recordings/${second}/content`, { method: "PUT", body: Buffer.from([1, 2, 3]) });
    expect(await json(untyped)).toMatchObject({ status: "uploaded", size: 3, contentType: "application/octet-stream" });
    const bytes = await api("alice", `/api/recordings/${second}/download`);
    expect([bytes.headers.get("content-type"), [...new Uint8Array(await bytes.arrayBuffer())]]).toEqual(["application/octet-stream", [1, 2, 3]]);
  });

  it("deletes it for everyone at its starter's request, and removes its media from S3", async () => {
    const [key] = await objectsOf(recordingId);
    expect((await api("bob", `/api/recordings/${recordingId}`, { method: "DELETE" })).status).toBe(403);
    expect((await api("carol", `/api/recordings/${recordingId}`, { method: "DELETE" })).status).toBe(404);
    expect((await api("alice", `/api/recordings/${recordingId}`, { method: "DELETE" })).status).toBe(204);
    await expect(store.head(key!)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await eventually(async () => ((await api("bob", `/api/recordings/${recordingId}`)).status === 404 ? true : undefined), 20_000, "the recording gone");
    expect((await api("bob", `/api/recordings/${recordingId}/download`)).status).toBe(404);
    expect((await api("alice", `/api/recordings/${recordingId}`, { method: "DELETE" })).status).toBe(204);
    const listed = await json(await api("bob", "/api/recordings"));
    expect((listed.recordings as Payload[]).map((recording) => recording.id)).not.toContain(recordingId);
  });

  /** The keys of the objects stored under `keyPrefix` in the test's bucket. */
  async function storedUnder(keyPrefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix }));
    // S3Proxy's filesystem backend lists its folders as keys ending in "/".
    return (listed.Contents ?? []).flatMap((item) => (item.Key === undefined || item.Key.endsWith("/") ? [] : [item.Key]));
  }

  /** The object keys the read model names for `recordingId` (the service never shows them). */
  async function objectsOf(id: string): Promise<string[]> {
    const documents = await mongo.db().collection(`${tablePrefixOf(prefix)}recordings`).find({ recordingId: id }).toArray();
    return documents.flatMap((document) => (typeof document.objectKey === "string" ? [document.objectKey] : []));
  }
});
