import { describe, expect, it } from "vitest";
import { callProcessor } from "../../../../src/contexts/calls/processor.js";
import type { CallCommand } from "../../../../src/contexts/calls/domain/commands.js";
import { callDecider } from "../../../../src/contexts/calls/domain/decide.js";
import type { DecidedCallEvent } from "../../../../src/contexts/calls/domain/events.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const OPTIONS = { ringingTimeoutMs: 60_000, maxDurationMs: 3_600_000 };
const spec = deciderSpec(callDecider(OPTIONS));
const CALL = "call-1";
const KEY = "w1/call-1/rec-1/u-1";

const meta = (actorId: string, workspaceId = "w1") => commandMeta({ commandId: `${actorId}-cmd`, actorId, workspaceId });
const attach = (userId: string, objectKey = KEY, workspaceId = "w1"): CallCommand => ({
  type: "AttachRecordingMedia",
  data: { meta: meta(userId, workspaceId), callId: CALL, recordingId: "rec-1", objectKey, size: 1_234, contentType: "video/webm" },
});
const remove = (userId: string, recordingId = "rec-1"): CallCommand => ({ type: "DeleteRecording", data: { meta: meta(userId), callId: CALL, recordingId } });

const uploaded = (objectKey = KEY): DecidedCallEvent => ({
  type: "RecordingUploaded",
  data: { callId: CALL, recordingId: "rec-1", uploadedBy: "alice", objectKey, size: 1_234, contentType: "video/webm" },
});
const deleted = (objectKey: string | null): DecidedCallEvent => ({ type: "RecordingDeleted", data: { callId: CALL, recordingId: "rec-1", deletedBy: "alice", objectKey } });

/** alice calls bob and carol; bob answers; alice records. */
const recording: DecidedCallEvent[] = [
  { type: "CallStarted", data: { callId: CALL, callType: "video", callerId: "alice", calleeIds: ["bob", "carol"], conversationId: null, ringingExpiresAt: 60_000 } },
  { type: "CallAnswered", data: { callId: CALL, userId: "bob", connectionId: "bob-phone", maxDurationExpiresAt: 3_600_000 } },
  { type: "ParticipantJoined", data: { callId: CALL, userId: "bob" } },
  { type: "RecordingStarted", data: { callId: CALL, recordingId: "rec-1", startedBy: "alice" } },
];
const stopped: DecidedCallEvent[] = [...recording, { type: "RecordingStopped", data: { callId: CALL, recordingId: "rec-1", stoppedBy: "bob", durationMs: 5_000 } }];
const endedAfterStop: DecidedCallEvent[] = [...stopped, { type: "CallEnded", data: { callId: CALL, reason: "completed", durationMs: 9_000, endedBy: "bob" } }];

describe("a recording's media", () => {
  describe("while the recording runs", () => {
    it("is refused: the media is complete once stopped", () => {
      spec.given(recording).when(attach("alice")).thenThrows("conflict", /stop the recording/);
      spec.given(recording).when(remove("alice")).thenThrows("conflict", /stop the recording/);
    });
  });

  describe("when the recording has stopped", () => {
    it("is attached by the participant who started it, during the call or after its end", () => {
      spec.given(stopped).when(attach("alice")).then([uploaded()]);
      spec.given(endedAfterStop).when(attach("alice")).then([uploaded()]);
    });

    it("is refused to another participant, to someone the call never involved and to another workspace", () => {
      spec.given(stopped).when(attach("bob")).thenThrows("forbidden");
      spec.given(stopped).when(attach("mallory")).thenThrows("not_a_member");
      spec.given(stopped).when(attach("alice", KEY, "w2")).thenThrows("not_found");
    });

    it("refuses a recording the call does not have, and media without a key", () => {
      spec.given(stopped).when({ ...attach("alice"), data: { ...attach("alice").data, recordingId: "rec-9" } } as CallCommand).thenThrows("not_found");
      spec.given(stopped).when(attach("alice", "")).thenThrows("invalid");
    });

    it("is deleted by its starter only, with no object to remove before an upload", () => {
      spec.given(stopped).when(remove("alice")).then([deleted(null)]);
      spec.given(stopped).when(remove("bob")).thenThrows("forbidden");
    });
  });

  describe("when the media is uploaded", () => {
    const withMedia = [...endedAfterStop, uploaded()];

    it("is attached once: the same object again is nothing new, another one a conflict", () => {
      spec.given(withMedia).when(attach("alice")).thenNothingHappened();
      spec.given(withMedia).when(attach("alice", "w1/call-1/rec-1/u-2")).thenThrows("conflict", /uploaded already/);
    });

    it("is deleted with its object named, so that the gateway removes it", () => {
      spec.given(withMedia).when(remove("alice")).then([deleted(KEY)]);
    });

    it("answers the object's key to the delete, the first time and when repeated", () => {
      const processor = callProcessor(OPTIONS);
      const state = spec.given([...withMedia, deleted(KEY)]).state;
      const command = remove("alice");
      expect(processor.result?.([], state, command as Parameters<NonNullable<typeof processor.result>>[2])).toEqual({ callId: CALL, recordingId: "rec-1", objectKey: KEY });
    });
  });

  describe("when the recording is deleted", () => {
    const gone = [...stopped, uploaded(), deleted(KEY)];

    it("is gone: deleting again changes nothing, anything else is not_found", () => {
      spec.given(gone).when(remove("alice")).thenNothingHappened();
      spec.given(gone).when(remove("bob")).thenNothingHappened();
      spec.given(gone).when(attach("alice", "w1/call-1/rec-1/u-3")).thenThrows("not_found");
    });
  });
});
