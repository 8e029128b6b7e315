import { Readable, Transform, type TransformCallback } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import {
  IncompleteUploadError,
  ObjectNotFoundError,
  ObjectStoreError,
  ObjectTooLargeError,
  type ObjectInfo,
  type ObjectStore,
  type ObjectUpload,
  type StoredObject,
} from "../../platform/storage/object-store.js";

export interface S3ObjectStoreOptions {
  /** An S3-compatible server (`http://127.0.0.1:8333`), addressed path-style; absent: AWS S3 for `region`. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Absent: the AWS SDK's default credential chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The largest object `put` accepts. */
  readonly maxBytes: number;
  /** How many times the SDK tries a request that failed for a temporary reason; 3 unless told. */
  readonly maxAttempts?: number;
}

const NOT_FOUND = new Set(["NoSuchKey", "NotFound"]);
const REFUSED_CREDENTIALS = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden", "InvalidToken", "ExpiredToken"]);

/** The S3 error code and HTTP status of an SDK error, when it is one. */
function s3Code(error: unknown): { code: string; status: number | undefined } | undefined {
  if (!(error instanceof S3ServiceException)) return undefined;
  return { code: error.name, status: error.$metadata.httpStatusCode };
}

/** A Transform that passes exactly `size` bytes and fails a stream carrying more or fewer. */
class ExactLength extends Transform {
  private seen = 0;

  constructor(private readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) done(new IncompleteUploadError(`the upload carries more than the ${this.size} bytes it announced`));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.seen === this.size ? null : new IncompleteUploadError(`the upload ended after ${this.seen} of the ${this.size} bytes it announced`));
  }
}

/**
 * The {@link ObjectStore} of one S3 bucket through `@aws-sdk/client-s3`: path-style addressing and
 * checksums only where required when `endpoint` is given (S3Proxy, MinIO), AWS's defaults
 * otherwise. Creates the bucket when it is missing. Rejects with an {@link ObjectStoreError} naming
 * the endpoint when the store cannot be reached or refuses the credentials.
 */
export async function openS3ObjectStore(o: S3ObjectStoreOptions): Promise<ObjectStore> {
  const config: S3ClientConfig = { region: o.region, maxAttempts: o.maxAttempts ?? 3 };
  if (o.endpoint !== undefined) {
    Object.assign(config, {
      endpoint: o.endpoint,
      forcePathStyle: true,
      // S3-compatible servers do not all take the SDK's default CRC32 trailers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    } satisfies S3ClientConfig);
  }
  if (o.credentials !== undefined) config.credentials = { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey };
  const client = new S3Client(config);
  const where = `${o.endpoint ?? `AWS S3 (${o.region})`} bucket ${o.bucket}`;
  const { bucket, maxBytes } = o;

  /** The store's error for `error`, met doing `what` (on `key`, when about one object). */
  function translate(error: unknown, what: string, key?: string): Error {
    if (error instanceof ObjectStoreError) return error;
    const s3 = s3Code(error);
    if (key !== undefined && s3 !== undefined && (NOT_FOUND.has(s3.code) || s3.status === 404) && s3.code !== "NoSuchBucket") {
      return new ObjectNotFoundError(key, { cause: error });
    }
    if (s3 !== undefined && (REFUSED_CREDENTIALS.has(s3.code) || s3.status === 403)) {
      return new ObjectStoreError(`${where} refused the credentials (${s3.code}) to ${what}: check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY`, { cause: error });
    }
    if (s3 !== undefined) return new ObjectStoreError(`${where} could not ${what}: ${s3.code} (HTTP ${s3.status ?? "?"})`, { cause: error });
    const reason = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
    return new ObjectStoreError(`could not ${what} at ${where}: ${reason}; check S3_ENDPOINT (or run quikchat stack up)`, { cause: error });
  }

  async function ensureBucket(): Promise<void> {
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      if (s3Code(error)?.status !== 404) throw translate(error, "find the bucket");
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      // Created meanwhile by another process of the service.
      if (s3Code(error)?.code !== "BucketAlreadyOwnedByYou") throw translate(error, "create the bucket");
    }
  }

  function infoOf(reply: { ContentLength?: number | undefined; ContentType?: string | undefined; LastModified?: Date | undefined }): ObjectInfo {
    return {
      size: reply.ContentLength ?? 0,
      contentType: reply.ContentType ?? "application/octet-stream",
      ...(reply.LastModified !== undefined ? { lastModified: reply.LastModified } : {}),
    };
  }

  try {
    await ensureBucket();
  } catch (error) {
    client.destroy();
    throw error;
  }

  const store = {
    maxBytes,

    async put(key: string, upload: ObjectUpload): Promise<ObjectInfo> {
      const size = upload.body instanceof Readable ? upload.size : upload.body.byteLength;
      if (size === undefined) throw new ObjectStoreError(`${key}: a streamed upload needs its size`);
      if (size > maxBytes) throw new ObjectTooLargeError(key, size, maxBytes);
      // A buffer goes as a stream too: the SDK signs a buffer's SHA-256, which S3Proxy checks by
      // holding the whole body in its heap (a 300 MB one ran it out of memory), and sends a stream unsigned.
      const source = upload.body instanceof Readable ? upload.body : Readable.from([Buffer.from(upload.body.buffer, upload.body.byteOffset, upload.body.byteLength)]);
      // Counted on its way: a stream that lies about its length fails here rather than in the store.
      const body = source.pipe(new ExactLength(size));
      let bodyError: Error | undefined;
      // The SDK keeps waiting for the store's answer when a body stream fails half-way: the request is aborted instead.
      const abort = new AbortController();
      source.once("error", (error: Error) => body.destroy(error));
      body.once("error", (error: Error) => {
        bodyError = error;
        abort.abort(error);
      });
      try {
        const put = new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: upload.contentType, ContentLength: size });
        await client.send(put, { abortSignal: abort.signal });
      } catch (error) {
        throw translate(bodyError ?? error, "store an object", key);
      }
      return { size, contentType: upload.contentType };
    },

    async get(key: string): Promise<StoredObject> {
      try {
        const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!(reply.Body instanceof Readable)) throw new ObjectStoreError(`${where} sent no body for ${key}`);
        return { ...infoOf(reply), body: reply.Body };
      } catch (error) {
        throw translate(error, "read an object", key);
      }
    },

    async head(key: string): Promise<ObjectInfo> {
      try {
        return infoOf(await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
      } catch (error) {
        throw translate(error, "look up an object", key);
      }
    },

    async delete(key: string): Promise<void> {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        const translated = translate(error, "delete an object", key);
        if (!(translated instanceof ObjectNotFoundError)) throw translated;
      }
    },

    close(): Promise<void> {
      client.destroy();
      return Promise.resolve();
    },
  } satisfies ObjectStore;
  return store;
}
