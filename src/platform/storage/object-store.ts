import type { Readable } from "node:stream";

/** What {@link ObjectStore.head} tells of a stored object. */
export interface ObjectInfo {
  /** Its length in bytes. */
  readonly size: number;
  /** The content type it was stored with. */
  readonly contentType: string;
  readonly lastModified?: Date;
}

/** A stored object being read: its bytes as a stream, and what {@link ObjectStore.head} would say. */
export interface StoredObject extends ObjectInfo {
  /** Read it to the end or destroy it: an abandoned body holds a connection to the store. */
  readonly body: Readable;
}

/** The bytes {@link ObjectStore.put} stores, with what it is told of them. */
export interface ObjectUpload {
  /** A buffer, or a stream of exactly `size` bytes. */
  readonly body: Uint8Array | Readable;
  readonly contentType: string;
  /** Required with a stream (an upload's Content-Length); a buffer's own length otherwise. */
  readonly size?: number;
}

/**
 * Binary objects under string keys (the media bytes of call recordings), in a store of their own
 * (S3 or S3-compatible). Keys are the caller's: slash-separated, without a leading slash.
 *
 * - `put` is atomic: a reader sees the previous object or the whole new one, never part of it. It
 *   refuses an object larger than the store's limit with {@link ObjectTooLargeError} before sending
 *   anything, and a stream that carries more or fewer bytes than it announced is refused with
 *   {@link IncompleteUploadError}; nothing is stored then.
 * - `get` and `head` reject with {@link ObjectNotFoundError} for a key that holds nothing.
 * - `delete` is idempotent: deleting a missing key succeeds.
 * - Any other refusal (credentials, network, the store itself) is an {@link ObjectStoreError}
 *   whose message names what to check; the store's own error is its `cause`.
 */
export interface ObjectStore {
  put(key: string, upload: ObjectUpload): Promise<ObjectInfo>;
  get(key: string): Promise<StoredObject>;
  head(key: string): Promise<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** The largest object `put` accepts, in bytes. */
  readonly maxBytes: number;
  close(): Promise<void>;
}

/** The store refused or failed an operation for a reason other than the ones below. */
export class ObjectStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ObjectStoreError";
  }
}

/** Nothing is stored under `key`. */
export class ObjectNotFoundError extends ObjectStoreError {
  constructor(readonly key: string, options?: ErrorOptions) {
    super(`no object under ${key}`, options);
    this.name = "ObjectNotFoundError";
  }
}

/** An object of `size` bytes exceeds the store's limit of `maxBytes`; nothing was stored. */
export class ObjectTooLargeError extends ObjectStoreError {
  constructor(readonly key: string, readonly size: number, readonly maxBytes: number) {
    super(`${key}: ${size} bytes exceed the limit of ${maxBytes} bytes (RECORDING_MAX_BYTES)`);
    this.name = "ObjectTooLargeError";
  }
}

/** A streamed upload carried more or fewer bytes than it announced (or its source failed); nothing was stored. */
export class IncompleteUploadError extends ObjectStoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IncompleteUploadError";
  }
}
