/** Where a recording is in its life: being recorded, stopped (no media yet), its media uploaded, or deleted. */
export type RecordingStatus = "recording" | "stopped" | "uploaded" | "deleted";

/** One recording of a call, as the read model holds it. Times are epoch milliseconds. */
export interface RecordingView {
  readonly id: string;
  readonly callId: string;
  readonly workspaceId: string;
  readonly startedBy: string;
  readonly startedAt: number;
  readonly stoppedAt: number | null;
  readonly durationMs: number | null;
  readonly status: RecordingStatus;
  /** The media's length in bytes, once uploaded. */
  readonly size: number | null;
  readonly contentType: string | null;
  /** Where the media is in the recordings' bucket, once uploaded (never shown to clients). */
  readonly objectKey: string | null;
  /** Who may read it: everyone who took part in the call (its caller and whoever joined), in code-unit order. */
  readonly participants: readonly string[];
}

/** Who reads: a user of a workspace. */
export interface Reader {
  readonly userId: string;
  readonly workspaceId: string;
}

/** Where a page of {@link RecordingsReadModel.recordingsOf} starts: after this recording in newest-first order. */
export interface RecordingsCursor {
  readonly startedAt: number;
  readonly key: string;
}

/**
 * The recordings read model as the gateway reads it. Eventually consistent with
 * `quikapp.calls.events`: a recording appears once its `RecordingStarted` is projected.
 *
 * - `recording` answers only a recording of the reader's workspace that the reader may read
 *   (a participant of its call), deleted ones included (with status `deleted`): whoever else asks
 *   gets undefined, as for an unknown id.
 * - `recordingsOf` lists the reader's recordings that are not deleted, newest `startedAt` first
 *   (ties by an internal key), `limit` at most, after `after` when given; `next` is the cursor of
 *   the following page, present when there may be one.
 */
export interface RecordingsReadModel {
  recording(recordingId: string, reader: Reader): Promise<RecordingView | undefined>;
  recordingsOf(reader: Reader, page: { readonly limit: number; readonly after?: RecordingsCursor }): Promise<{ recordings: RecordingView[]; next?: RecordingsCursor }>;
}
