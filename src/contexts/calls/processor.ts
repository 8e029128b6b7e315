import type { CallsCommand, CallsEvent, SignalingCommand, SignalingEvent } from "../../platform/contract/generated/avro-types.js";
import { callDecider, type CallOptions } from "./domain/decide.js";
import { nextDeadline, recordingOf, type CallState } from "./domain/state.js";
import type { ProcessorDefinition, ScheduledCommand } from "../../platform/processor/processor-definition.js";

/**
 * The calls processor: one aggregate per call over `quikapp.calls.commands` and the call's
 * signals on `quikapp.signaling.commands` (key: callId, co-partitioned), its changelog
 * `quikapp.calls.state`; relayed signals go to `quikapp.signaling.events`, in order per call.
 *
 * Timer: at the call's next deadline it issues `ExpireRinging` (the earliest ringing deadline of
 * its callees) or `ExpireCallDuration` (an active call's maximum duration), with that deadline;
 * an answer, a rejection or the end decided before it arrives makes it a no-op.
 *
 * Accepted commands answer `{callId}`; start recording `{callId, recordingId}`; an invite
 * `{callId, invited, busy}` (the users it rang, and those it found busy and did not); attaching a
 * recording's media and deleting a recording `{callId, recordingId, objectKey}` (the recording's
 * object, null before any upload). Signals are
 * sent without waiting for an answer (the gateway checked them), and remembered for retries
 * like any command: a window of 64 per call holds the last seconds of a call's signaling.
 */
export function callProcessor(options: CallOptions): ProcessorDefinition<"calls" | "signaling", CallState> {
  return {
    contexts: ["calls", "signaling"],
    decider: callDecider(options),
    result: (events, state, command) => callResult(events, state, command),
    // A call has few commands, retried within seconds; it lasts at most its maximum duration.
    dedupe: { maxEntries: 64, maxAgeMs: 2 * 60 * 60_000 },
    timer: callTimer,
  };
}

/** What an accepted command answers, from the events it caused. */
function callResult(events: readonly (CallsEvent | SignalingEvent)[], state: CallState, command: CallsCommand | SignalingCommand): Record<string, unknown> {
  const { callId } = command.data;
  switch (command.type) {
    case "StartRecording":
      return { callId, recordingId: command.data.recordingId };
    case "AttachRecordingMedia":
    case "DeleteRecording": {
      const { recordingId } = command.data;
      const recording = state.status === "absent" ? undefined : recordingOf(state, recordingId);
      return { callId, recordingId, objectKey: recording?.objectKey ?? null };
    }
    case "InviteToCall":
      // An invite's refusals are those of the callees found busy.
      return {
        callId,
        invited: events.flatMap((event) => (event.type === "ParticipantsInvited" ? event.data.userIds : [])),
        busy: events.flatMap((event) => (event.type === "CallRejected" ? [event.data.userId] : [])),
      };
    default:
      return { callId };
  }
}

/** The call's next deadline as the command the runtime issues at it, if the call has one. */
export function callTimer(state: CallState, callId: string): ScheduledCommand<CallsCommand | SignalingCommand> | undefined {
  const next = nextDeadline(state);
  if (next === undefined || state.status === "absent") return undefined;
  const { at } = next;
  const data = { callId, deadline: at };
  return {
    at,
    workspaceId: state.workspaceId,
    command: next.type === "ExpireRinging" ? { type: "ExpireRinging", data } : { type: "ExpireCallDuration", data },
  };
}
