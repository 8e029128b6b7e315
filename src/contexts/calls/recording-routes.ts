import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { AttachRecordingMedia, DeleteRecording } from "../../platform/contract/generated/avro-types.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { CommandBus } from "../../platform/gateway/command-bus.js";
import { bearerAuth, errorBody, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { until } from "../../platform/sleep.js";
import { IncompleteUploadError, ObjectNotFoundError, ObjectTooLargeError, type ObjectStore } from "../../platform/storage/object-store.js";
import type { Reader, RecordingsCursor, RecordingsReadModel, RecordingView } from "./projections/recordings/recordings-port.js";

/** What the recordings' routes use. */
export interface RecordingRoutesOptions {
  readonly recordings: RecordingsReadModel;
  /** The recordings' object store, opened on first use; rejects with `unavailable` while it cannot be reached. */
  readonly objectStore: () => Promise<ObjectStore>;
  readonly bus: CommandBus;
  /** The largest media accepted, in bytes (`RECORDING_MAX_BYTES`). */
  readonly maxBytes: number;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

/** How long an accepted upload waits for the read model to show it before answering with what it knows. */
const READ_MODEL_WAIT_MS = 5_000;
/** `type/subtype` with optional parameters, as in a Content-Type header. */
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?$/;
const MAX_CONTENT_TYPE = 255;

const recordingParams = { type: "object", required: ["recording_id"], properties: { recording_id: idSchema } } as const;
type RecordingParams = { Params: { recording_id: string } };

const nullable = (type: "integer" | "string") => ({ type: [type, "null"] }) as const;
const recordingSchema = {
  type: "object",
  required: ["id", "callId", "startedBy", "startedAt", "stoppedAt", "durationMs", "status", "size", "contentType", "participants"],
  properties: {
    id: { type: "string" },
    callId: { type: "string" },
    startedBy: { type: "string" },
    startedAt: { type: "integer", description: "epoch milliseconds" },
    stoppedAt: { ...nullable("integer"), description: "epoch milliseconds; null while recording" },
    durationMs: nullable("integer"),
    status: { type: "string", enum: ["recording", "stopped", "uploaded"], description: "stopped: no media uploaded yet" },
    size: { ...nullable("integer"), description: "the media's length in bytes, once uploaded" },
    contentType: nullable("string"),
    participants: { type: "array", items: { type: "string" }, description: "who may read it: the call's participants" },
  },
} as const;

/** A recording as clients see it: its storage key stays the service's. */
function recordingPayload(recording: RecordingView): Record<string, unknown> {
  const { id, callId, startedBy, startedAt, stoppedAt, durationMs, status, size, contentType, participants } = recording;
  return { id, callId, startedBy, startedAt, stoppedAt, durationMs, status, size, contentType, participants };
}

/**
 * Recordings of calls over REST, for the calls' participants only (anyone else, another
 * workspace, an unknown or deleted recording: 404):
 *
 * - `GET /api/recordings?limit&cursor`: the caller's recordings, newest first;
 * - `GET /api/recordings/:recording_id`: one recording's metadata;
 * - `PUT /api/recordings/:recording_id/content`: the participant who started the recording
 *   uploads its media once it has stopped: the raw body with its Content-Type and
 *   Content-Length, at most `maxBytes` (413 beyond, nothing stored), streamed into the object
 *   store under `<workspaceId>/<callId>/<recordingId>/<upload id>`, then attached to the
 *   recording by the call (`AttachRecordingMedia` → `RecordingUploaded`); a refused attach
 *   removes the object again;
 * - `GET /api/recordings/:recording_id/download`: the media, streamed from the store (404 until uploaded);
 * - `DELETE /api/recordings/:recording_id`: the starter deletes it (`DeleteRecording` →
 *   `RecordingDeleted`), then its object is removed; a repeated delete answers 204 again.
 */
export const recordingRoutes: FastifyPluginAsync<RecordingRoutesOptions> = async (app, options) => {
  const { recordings, bus } = options;
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);
  // Uploads are raw media of any type: every body reaches the handler as the request's stream
  // (this plugin's routes only; fastify's body limit does not apply, `maxBytes` does).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  /** The recording if the caller may read it and it is not deleted; 404 otherwise. */
  async function readable(recordingId: string, caller: Reader): Promise<RecordingView> {
    const recording = await recordings.recording(recordingId, caller);
    if (recording === undefined || recording.status === "deleted") throw new ServiceError("not_found", "no such recording");
    return recording;
  }

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    "/api/recordings",
    {
      schema: {
        tags: ["calls"],
        security: bearerAuth,
        querystring: {
          type: "object",
          properties: { limit: { type: "integer", minimum: 1, maximum: 100, default: 20 }, cursor: { type: "string", maxLength: 512 } },
        },
        response: {
          200: {
            description: "The recordings of the calls the caller took part in, newest first; nextCursor fetches the next page (null on the last)",
            type: "object",
            required: ["recordings", "nextCursor"],
            properties: { recordings: { type: "array", items: recordingSchema }, nextCursor: nullable("string") },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { limit, cursor } = request.query;
      const page = await recordings.recordingsOf(caller, { limit, ...(cursor === undefined ? {} : { after: parseCursor(cursor) }) });
      return { recordings: page.recordings.map(recordingPayload), nextCursor: page.next === undefined ? null : cursorOf(page.next) };
    },
  );

  app.get<RecordingParams>(
    "/api/recordings/:recording_id",
    { schema: { tags: ["calls"], security: bearerAuth, params: recordingParams, response: { 200: { ...recordingSchema, description: "The recording's metadata" }, ...errorResponses } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      return recordingPayload(await readable(request.params.recording_id, caller));
    },
  );

  app.put<RecordingParams>(
    "/api/recordings/:recording_id/content",
    {
      schema: {
        tags: ["calls"],
        security: bearerAuth,
        description: "The raw media as the body, with its Content-Type (application/octet-stream when absent) and Content-Length",
        params: recordingParams,
        response: {
          200: { ...recordingSchema, description: "The recording with its media" },
          ...errorResponses,
          411: errorBody("No Content-Length (length_required)"),
          413: errorBody("Larger than RECORDING_MAX_BYTES (payload_too_large); nothing was stored"),
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const recording = await readable(request.params.recording_id, caller);
      if (recording.startedBy !== caller.userId) throw new ServiceError("forbidden", "only the participant who started the recording uploads its media");
      if (recording.status === "uploaded") throw new ServiceError("conflict", "the recording's media is uploaded already");
      const { size, contentType } = uploadHeaders(request, options.maxBytes, reply);
      const meta = bus.meta({ ...caller, correlationId: request.id });
      const { callId, id: recordingId } = recording;
      const objectKey = [caller.workspaceId, callId, recordingId, meta.commandId].join("/");
      const store = await options.objectStore();
      try {
        await store.put(objectKey, { body: request.raw, size, contentType });
      } catch (error) {
        if (error instanceof ObjectTooLargeError) throw new ServiceError("payload_too_large", `the media is over ${error.maxBytes} bytes`);
        if (error instanceof IncompleteUploadError) throw new ServiceError("invalid", error.message);
        throw new ServiceError("unavailable", "the recordings' storage failed; retry", { cause: error });
      }
      const command: AttachRecordingMedia = { meta, callId, recordingId, objectKey, size, contentType };
      try {
        await bus.request("calls", "AttachRecordingMedia", callId, command);
      } catch (error) {
        // Refused: the object is nobody's. A timeout may still be accepted later: it stays.
        if (error instanceof ServiceError && !ERROR_MAY_SUCCEED.has(error.code)) await store.delete(objectKey).catch(() => undefined);
        throw error;
      }
      const shown = await until(READ_MODEL_WAIT_MS, async () => {
        const current = await recordings.recording(recordingId, caller);
        return current?.status === "uploaded" ? current : undefined;
      });
      return recordingPayload(shown ?? { ...recording, status: "uploaded", size, contentType });
    },
  );

  app.get<RecordingParams>(
    "/api/recordings/:recording_id/download",
    {
      schema: {
        tags: ["calls"],
        security: bearerAuth,
        params: recordingParams,
        response: { 200: { description: "The media, with the Content-Type it was uploaded with", type: "string", format: "binary" }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const recording = await readable(request.params.recording_id, caller);
      if (recording.objectKey === null) throw new ServiceError("not_found", "the recording has no media yet");
      const store = await options.objectStore();
      const media = await store.get(recording.objectKey).catch((error: unknown) => {
        if (error instanceof ObjectNotFoundError) throw new ServiceError("not_found", "the recording has no media");
        throw new ServiceError("unavailable", "the recordings' storage failed; retry", { cause: error });
      });
      return reply.header("content-type", media.contentType).header("content-length", String(media.size)).send(media.body);
    },
  );

  app.delete<RecordingParams>(
    "/api/recordings/:recording_id",
    { schema: { tags: ["calls"], security: bearerAuth, params: recordingParams, response: { 204: { description: "Deleted (or deleted before)", type: "null" }, ...errorResponses } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      // A deleted one is found too: deleting it again removes its object again, should that have failed.
      const recording = await recordings.recording(request.params.recording_id, caller);
      if (recording === undefined) throw new ServiceError("not_found", "no such recording");
      const { callId, id: recordingId } = recording;
      const command: DeleteRecording = { meta: bus.meta({ ...caller, correlationId: request.id }), callId, recordingId };
      const result = await bus.request("calls", "DeleteRecording", callId, command);
      if (typeof result.objectKey === "string") {
        const store = await options.objectStore();
        await store.delete(result.objectKey).catch((error: unknown) => {
          throw new ServiceError("unavailable", "the recording is deleted, its media not yet: retry", { cause: error });
        });
      }
      return reply.code(204).send();
    },
  );
};

/** Failures after which the command may still be accepted. */
const ERROR_MAY_SUCCEED = new Set(["timeout", "unavailable", "shutting_down", "internal"]);

/** The upload's length and type from its headers: 411 without a length, 413 above `maxBytes` (the connection is closed: the body is not read). */
function uploadHeaders(request: FastifyRequest, maxBytes: number, reply: { header(name: string, value: string): unknown }): { size: number; contentType: string } {
  const length = request.headers["content-length"];
  if (length === undefined || !/^\d+$/.test(length)) throw new ServiceError("length_required", "an upload needs its Content-Length");
  const size = Number(length);
  if (size > maxBytes) {
    reply.header("connection", "close");
    throw new ServiceError("payload_too_large", `the media is over ${maxBytes} bytes`);
  }
  const contentType = request.headers["content-type"] ?? "application/octet-stream";
  if (contentType.length > MAX_CONTENT_TYPE || !CONTENT_TYPE.test(contentType)) throw new ServiceError("invalid", "Content-Type must be a media type such as video/webm");
  return { size, contentType };
}

function cursorOf(cursor: RecordingsCursor): string {
  return Buffer.from(JSON.stringify([cursor.startedAt, cursor.key])).toString("base64url");
}

function parseCursor(cursor: string): RecordingsCursor {
  try {
    const [startedAt, key] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (Number.isSafeInteger(startedAt) && typeof key === "string") return { startedAt: startedAt as number, key };
  } catch {
    // Not JSON: refused below like any cursor this API did not give.
  }
  throw new ServiceError("invalid", "cursor: not one this API gave");
}
