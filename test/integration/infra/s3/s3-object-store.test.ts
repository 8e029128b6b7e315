import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openS3ObjectStore, type S3ObjectStoreOptions } from "../../../../src/infra/s3/s3-object-store.js";
import { s3StoreOptions } from "../../../../src/infra/s3/s3-store-options.js";
import { ObjectNotFoundError, ObjectStoreError, ObjectTooLargeError, type ObjectStore } from "../../../../src/platform/storage/object-store.js";
import { testConfig } from "../../../support/test-config.js";

// A bucket of its own per run, removed afterwards: tests never see each other's objects.
const bucket = `quikchat-test-${randomBytes(4).toString("hex")}`;
const config = testConfig({ S3_BUCKET: bucket });

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

async function sha256Of(stream: Readable): Promise<{ digest: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { digest: hash.digest("hex"), bytes };
}

/** A stream of `bytes` in chunks of 64 KiB, as an HTTP upload arrives. */
const chunked = (bytes: Buffer): Readable => Readable.from((function* () {
  for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536);
})());

describe("the S3 object store against the local stack's S3Proxy", () => {
  let options: S3ObjectStoreOptions;
  let store: ObjectStore;

  beforeAll(async () => {
    expect(config.calls.recordings.target.kind).toBe("stack");
    options = await s3StoreOptions(config.calls.recordings, config.stack.dir);
    store = await openS3ObjectStore(options);
  });

  afterAll(async () => {
    await store?.close();
    const client = new S3Client({ region: options.region, endpoint: options.endpoint ?? "", forcePathStyle: true, ...(options.credentials ? { credentials: { ...options.credentials } } : {}) });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      // S3Proxy's filesystem backend lists its folders as keys ending in "/" (and takes 10 s to delete
      // one); they go with the last object in them.
      const objects = (listed.Contents ?? []).filter((object) => !object.Key?.endsWith("/"));
      for (const object of objects) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
  });

  it("creates its bucket when missing and opens it again as it is", async () => {
    await store.put("kept/one.txt", { body: Buffer.from("kept"), contentType: "text/plain" });
    const again = await openS3ObjectStore(options);
    try {
      expect(await again.head("kept/one.txt")).toMatchObject({ size: 4, contentType: "text/plain" });
    } finally {
      await again.close();
    }
  });

  it("stores a few megabytes streamed in and streams them back byte for byte", async () => {
    const media = randomBytes(5 * 1024 * 1024 + 123);
    const key = "calls/c1/recording.webm";
    expect(await store.put(key, { body: chunked(media), size: media.length, contentType: "video/webm" })).toEqual({ size: media.length, contentType: "video/webm" });

    const info = await store.head(key);
    expect(info).toMatchObject({ size: media.length, contentType: "video/webm" });
    expect(info.lastModified).toBeInstanceOf(Date);

    const object = await store.get(key);
    expect(object.size).toBe(media.length);
    expect(object.contentType).toBe("video/webm");
    expect(await sha256Of(object.body)).toEqual({ digest: sha256(media), bytes: media.length });
  });

  it("stores a buffer larger than S3Proxy's heap (the SDK would have it hold the whole body to check a signed hash)", { timeout: 120_000 }, async () => {
    const large = Buffer.alloc(300 * 1024 * 1024, 7);
    await store.put("large.bin", { body: large, contentType: "application/octet-stream" });
    expect((await store.head("large.bin")).size).toBe(large.length);
    await store.delete("large.bin");
  });

  it("replaces an object whole", async () => {
    await store.put("replaced", { body: Buffer.from("first version"), contentType: "text/plain" });
    await store.put("replaced", { body: Buffer.from("second"), contentType: "application/octet-stream" });
    const object = await store.get("replaced");
    expect((await sha256Of(object.body)).digest).toBe(sha256(Buffer.from("second")));
    expect(object.contentType).toBe("application/octet-stream");
  });

  it("deletes, and tells a missing object with a typed error", async () => {
    await store.put("deleted", { body: Buffer.from("bytes"), contentType: "text/plain" });
    await store.delete("deleted");
    await expect(store.head("deleted")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get("deleted")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get("never/stored")).rejects.toThrow("no object under never/stored");
    await expect(store.delete("never/stored")).resolves.toBeUndefined();
  });

  it("refuses an object over its limit, and a stream that lies about its size, storing nothing", async () => {
    const small = await openS3ObjectStore({ ...options, maxBytes: 1024 * 1024 });
    try {
      const tooLarge = small.put("too-large", { body: Buffer.alloc(1024 * 1024 + 1), contentType: "video/webm" });
      await expect(tooLarge).rejects.toBeInstanceOf(ObjectTooLargeError);
      await expect(tooLarge).rejects.toThrow("too-large: 1048577 bytes exceed the limit of 1048576 bytes (RECORDING_MAX_BYTES)");
      await expect(small.head("too-large")).rejects.toBeInstanceOf(ObjectNotFoundError);

      await expect(small.put("announced-large", { body: chunked(Buffer.alloc(10)), size: 2 * 1024 * 1024, contentType: "video/webm" })).rejects.toBeInstanceOf(
        ObjectTooLargeError,
      );

      const longer = small.put("longer", { body: chunked(randomBytes(200_000)), size: 100_000, contentType: "video/webm" });
      await expect(longer).rejects.toThrow("the upload carries more than the 100000 bytes it announced");
      await expect(small.head("longer")).rejects.toBeInstanceOf(ObjectNotFoundError);

      const shorter = small.put("shorter", { body: chunked(randomBytes(1_000)), size: 100_000, contentType: "video/webm" });
      await expect(shorter).rejects.toThrow("the upload ended after 1000 of the 100000 bytes it announced");
      await expect(small.head("shorter")).rejects.toBeInstanceOf(ObjectNotFoundError);
    } finally {
      await small.close();
    }
  });

  it("refuses wrong credentials at open with an error naming the variables to check", async () => {
    const unknownKey = openS3ObjectStore({ ...options, credentials: { accessKeyId: "AKIDUNKNOWN000000000", secretAccessKey: "wrong" }, maxAttempts: 1 });
    await expect(unknownKey).rejects.toBeInstanceOf(ObjectStoreError);
    await expect(unknownKey).rejects.toThrow(/refused the credentials .*: check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY$/);

    const wrongSecret = openS3ObjectStore({ ...options, credentials: { accessKeyId: options.credentials?.accessKeyId ?? "", secretAccessKey: "wrong" }, maxAttempts: 1 });
    await expect(wrongSecret).rejects.toThrow(/refused the credentials .*: check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY$/);
  });

  it("says which endpoint it cannot reach", async () => {
    const nowhere = openS3ObjectStore({ ...options, endpoint: "http://127.0.0.1:1", maxAttempts: 1 });
    await expect(nowhere).rejects.toThrow(/^could not find the bucket at http:\/\/127\.0\.0\.1:1 bucket quikchat-test-\w+: ECONNREFUSED; check S3_ENDPOINT/);
  });
});
