import type { ConsumedRecord } from "../../../../infra/kafka/record-consumer.js";
import { eventOf } from "../../../../platform/contract/event-records.js";

/** The projection's name: its consumer group, its checkpoints, its name in `quikchat projections`. */
export const RECORDINGS_PROJECTION = "recordings";

/**
 * What one call event changes in the recordings read model. `version` is the event's offset: all
 * events of a call share one partition, so a recording's versions grow along its life.
 */
export type RecordingChange =
  /** `userId` took part in the call (its caller, or anyone who joined): they may read its recordings. */
  | { readonly kind: "participant"; readonly callId: string; readonly workspaceId: string; readonly userId: string; readonly recordingsExist: boolean }
  | {
      readonly kind: "started";
      readonly callId: string;
      readonly workspaceId: string;
      readonly recordingId: string;
      readonly startedBy: string;
      readonly startedAt: number;
      readonly version: number;
    }
  | { readonly kind: "stopped"; readonly callId: string; readonly recordingId: string; readonly stoppedAt: number; readonly durationMs: number; readonly version: number }
  | {
      readonly kind: "uploaded";
      readonly callId: string;
      readonly recordingId: string;
      readonly objectKey: string;
      readonly size: number;
      readonly contentType: string;
      readonly version: number;
    }
  | { readonly kind: "deleted"; readonly callId: string; readonly recordingId: string; readonly deletedAt: number; readonly version: number };

/**
 * The changes of one record of `quikapp.calls.events` (pure). The caller of a call is a
 * participant from its start; a participant who joins later may read the recordings made before
 * (`recordingsExist`: only a join can find recordings of the call already projected).
 */
export function recordingChanges(record: Pick<ConsumedRecord, "fullName" | "value" | "offset">): RecordingChange[] {
  const event = eventOf(record, "calls");
  if (event === undefined) return [];
  const version = record.offset;
  const { callId, meta } = event.data;
  switch (event.type) {
    case "CallStarted":
      return [{ kind: "participant", callId, workspaceId: meta.workspaceId, userId: event.data.callerId, recordingsExist: false }];
    case "ParticipantJoined":
      return [{ kind: "participant", callId, workspaceId: meta.workspaceId, userId: event.data.userId, recordingsExist: true }];
    case "RecordingStarted": {
      const { recordingId, startedBy } = event.data;
      return [{ kind: "started", callId, workspaceId: meta.workspaceId, recordingId, startedBy, startedAt: meta.occurredAt, version }];
    }
    case "RecordingStopped":
      return [{ kind: "stopped", callId, recordingId: event.data.recordingId, stoppedAt: meta.occurredAt, durationMs: event.data.durationMs, version }];
    case "RecordingUploaded": {
      const { recordingId, objectKey, size, contentType } = event.data;
      return [{ kind: "uploaded", callId, recordingId, objectKey, size, contentType, version }];
    }
    case "RecordingDeleted":
      return [{ kind: "deleted", callId, recordingId: event.data.recordingId, deletedAt: meta.occurredAt, version }];
    default:
      return [];
  }
}
