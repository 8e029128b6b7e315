import { describe, expect, it } from "vitest";
import type { CallEndReason, CallRejectReason } from "../../../../src/platform/contract/generated/avro-types.js";
import type { AggregateSnapshot } from "../../../../src/platform/processor/aggregate-snapshot.js";
import { stepCommand } from "../../../../src/platform/processor/command-step.js";
import { callProcessor, callTimer } from "../../../../src/contexts/calls/processor.js";
import type { CallCommand } from "../../../../src/contexts/calls/domain/commands.js";
import { callDecider } from "../../../../src/contexts/calls/domain/decide.js";
import type { CallEvent, DecidedCallEvent } from "../../../../src/contexts/calls/domain/events.js";
import type { CallState } from "../../../../src/contexts/calls/domain/state.js";
import type { SignalCommand, SignalEvent } from "../../../../src/contexts/calls/domain/signals.js";
import { commandMeta, deciderSpec } from "../../../support/processor-decider-spec.js";

const RINGING = 60_000;
const MAX_DURATION = 3_600_000;
/** The given events happen at T0 (the spec evolves them with the meta of one command). */
const T0 = 1_700_000_000_000;
const OPTIONS = { ringingTimeoutMs: RINGING, maxDurationMs: MAX_DURATION };
const decider = callDecider(OPTIONS);
const spec = deciderSpec(decider);
const CALL = "call-1";

// ---- commands, each by its actor at its time (T0 + 1 s unless said otherwise)

const meta = (actorId: string, issuedAt: number) => commandMeta({ commandId: `${actorId}@${issuedAt}`, actorId, issuedAt });
const LATER = T0 + 1_000;

const initiate = (callerId: string, calleeIds: string[], busy: string[] = [], issuedAt = T0): CallCommand => ({
  type: "InitiateCall",
  data: { meta: meta(callerId, issuedAt), callId: CALL, callType: "video", calleeIds, busyCalleeIds: busy, conversationId: "conv-1" },
});
const answer = (userId: string, connectionId: string | null, issuedAt = LATER): CallCommand => ({
  type: "AnswerCall",
  data: { meta: meta(userId, issuedAt), callId: CALL, connectionId },
});
const join = (userId: string, issuedAt = LATER): CallCommand => ({ type: "JoinCall", data: { meta: meta(userId, issuedAt), callId: CALL } });
const reject = (userId: string, reason: CallRejectReason = "declined", issuedAt = LATER): CallCommand => ({
  type: "RejectCall",
  data: { meta: meta(userId, issuedAt), callId: CALL, reason },
});
const end = (userId: string, issuedAt = LATER, reason: CallEndReason | null = null): CallCommand => ({
  type: "EndCall",
  data: { meta: meta(userId, issuedAt), callId: CALL, reason },
});
const leave = (userId: string, issuedAt = LATER): CallCommand => ({ type: "LeaveCall", data: { meta: meta(userId, issuedAt), callId: CALL } });
const invite = (userId: string, userIds: string[], busy: string[] = [], issuedAt = LATER): CallCommand => ({
  type: "InviteToCall",
  data: { meta: meta(userId, issuedAt), callId: CALL, userIds, busyUserIds: busy },
});
const startRecording = (userId: string, recordingId = "rec-1", issuedAt = LATER): CallCommand => ({
  type: "StartRecording",
  data: { meta: meta(userId, issuedAt), callId: CALL, recordingId },
});
const stopRecording = (userId: string, issuedAt = LATER): CallCommand => ({ type: "StopRecording", data: { meta: meta(userId, issuedAt), callId: CALL } });
/** The timers' commands, issued at their deadline unless said otherwise. */
const expireRinging = (deadline: number, issuedAt = deadline): CallCommand => ({
  type: "ExpireRinging",
  data: { meta: commandMeta({ commandId: `timer:${CALL}:ExpireRinging:${deadline}`, actorId: "system:timer", issuedAt }), callId: CALL, deadline },
});
const expireDuration = (deadline: number, issuedAt = deadline): CallCommand => ({
  type: "ExpireCallDuration",
  data: { meta: commandMeta({ commandId: `timer:${CALL}:ExpireCallDuration:${deadline}`, actorId: "system:timer", issuedAt }), callId: CALL, deadline },
});

// ---- events, as decide returns them

const started = (callerId: string, calleeIds: string[], at = T0): DecidedCallEvent => ({
  type: "CallStarted",
  data: { callId: CALL, callType: "video", callerId, calleeIds, conversationId: "conv-1", ringingExpiresAt: at + RINGING },
});
const answered = (userId: string, connectionId: string | null, firstAnswerAt = LATER): DecidedCallEvent => ({
  type: "CallAnswered",
  data: { callId: CALL, userId, connectionId, maxDurationExpiresAt: firstAnswerAt + MAX_DURATION },
});
const joined = (userId: string): DecidedCallEvent => ({ type: "ParticipantJoined", data: { callId: CALL, userId } });
const left = (userId: string): DecidedCallEvent => ({ type: "ParticipantLeft", data: { callId: CALL, userId } });
const rejected = (userId: string, reason: CallRejectReason = "declined"): DecidedCallEvent => ({ type: "CallRejected", data: { callId: CALL, userId, reason } });
const ended = (reason: CallEndReason, durationMs = 0, endedBy: string | null = null): DecidedCallEvent => ({
  type: "CallEnded",
  data: { callId: CALL, reason, durationMs, endedBy },
});
const invited = (userIds: string[], at = LATER): DecidedCallEvent => ({
  type: "ParticipantsInvited",
  data: { callId: CALL, userIds, ringingExpiresAt: at + RINGING },
});
const recordingStarted = (startedBy: string, recordingId = "rec-1"): DecidedCallEvent => ({
  type: "RecordingStarted",
  data: { callId: CALL, recordingId, startedBy },
});
const recordingStopped = (stoppedBy: string | null, durationMs: number, recordingId = "rec-1"): DecidedCallEvent => ({
  type: "RecordingStopped",
  data: { callId: CALL, recordingId, stoppedBy, durationMs },
});

// ---- histories (given at T0: an answered call's duration counts from T0)

/** alice calls bob. */
const ringing = [started("alice", ["bob"])];
/** bob answered on his phone. */
const active = [...ringing, answered("bob", "bob-phone", T0), joined("bob")];
/** alice calls bob and carol. */
const groupRinging = [started("alice", ["bob", "carol"])];
/** bob answered; carol still rings. */
const groupActive = [...groupRinging, answered("bob", "bob-phone", T0), joined("bob")];
const recording = [...active, recordingStarted("alice")];
const over = [...active, ended("completed", 30_000, "alice")];

const timerOf = (history: readonly DecidedCallEvent[]) => callTimer(spec.given(history).state, CALL);

describe("call decider", () => {
  describe("when there is no call", () => {
    it("starts a 1:1 call that rings the callee for the ringing timeout", () => {
      spec.given([]).when(initiate("alice", ["bob"])).then([started("alice", ["bob"])]);
    });

    it("starts a group call that rings each callee once, never the caller", () => {
      spec.given([]).when(initiate("alice", ["bob", "carol", "bob", "alice"])).then([started("alice", ["bob", "carol"])]);
    });

    it("refuses a call with nobody to call, or an empty id", () => {
      spec.given([]).when(initiate("alice", [])).thenThrows("invalid");
      spec.given([]).when(initiate("alice", ["alice"])).thenThrows("invalid", /someone to call/);
      spec.given([]).when(initiate("alice", ["bob", ""])).thenThrows("invalid");
    });

    it("answers every other command not_found, and ignores timers", () => {
      for (const command of [answer("bob", "p"), join("bob"), reject("bob"), end("bob"), leave("bob"), invite("bob", ["dan"]), startRecording("bob"), stopRecording("bob")]) {
        spec.given([]).when(command).thenThrows("not_found");
      }
      spec.given([]).when(expireRinging(T0 + RINGING)).thenNothingHappened();
      spec.given([]).when(expireDuration(T0 + MAX_DURATION)).thenNothingHappened();
    });

    it("has no timer", () => {
      expect(timerOf([])).toBeUndefined();
    });
  });

  describe("when a callee is busy in another call", () => {
    it("does not ring a busy 1:1 callee: the caller is told busy and the call ends busy", () => {
      spec
        .given([])
        .when(initiate("alice", ["bob"], ["bob"]))
        .then([started("alice", []), rejected("bob", "busy"), ended("busy")]);
    });

    it("rings the others of a group call and reports the busy one", () => {
      spec
        .given([])
        .when(initiate("alice", ["bob", "carol"], ["carol"]))
        .then([started("alice", ["bob"]), rejected("carol", "busy")]);
    });

    it("ends a group call busy when every callee is busy", () => {
      spec
        .given([])
        .when(initiate("alice", ["bob", "carol"], ["carol", "bob"]))
        .then([started("alice", []), rejected("bob", "busy"), rejected("carol", "busy"), ended("busy")]);
    });

    it("ignores busy users the call does not name", () => {
      spec.given([]).when(initiate("alice", ["bob"], ["dan"])).then([started("alice", ["bob"])]);
    });

    it("lets a busy callee join once the call is active", () => {
      const history = [started("alice", ["bob"]), rejected("carol", "busy"), answered("bob", "bob-phone", T0), joined("bob")];
      spec.given(history).when(join("carol")).then([joined("carol")]);
    });
  });

  describe("when the call is ringing", () => {
    it("is answered by the callee: the answering connection is named, the duration starts, the callee joins", () => {
      spec.given(ringing).when(answer("bob", "bob-phone")).then([answered("bob", "bob-phone"), joined("bob")]);
    });

    it("is answered by a join of the callee, without a connection", () => {
      spec.given(ringing).when(join("bob")).then([answered("bob", null), joined("bob")]);
    });

    it("ends rejected when the 1:1 callee declines, ended by the callee", () => {
      spec.given(ringing).when(reject("bob")).then([rejected("bob"), ended("rejected", 0, "bob")]);
    });

    it("ends busy when the 1:1 callee's client says busy", () => {
      spec.given(ringing).when(reject("bob", "busy")).then([rejected("bob", "busy"), ended("busy", 0, "bob")]);
    });

    it("treats the callee hanging up as declining", () => {
      spec.given(ringing).when(end("bob")).then([rejected("bob"), ended("rejected", 0, "bob")]);
    });

    it("is cancelled when the caller hangs up, or fails when the caller says so", () => {
      spec.given(ringing).when(end("alice")).then([ended("cancelled", 0, "alice")]);
      spec.given(ringing).when(end("alice", LATER, "cancelled")).then([ended("cancelled", 0, "alice")]);
      spec.given(ringing).when(end("alice", LATER, "failed")).then([ended("failed", 0, "alice")]);
    });

    it("refuses an end reason the caller may not choose", () => {
      spec.given(ringing).when(end("alice", LATER, "completed")).thenThrows("invalid");
      spec.given(ringing).when(end("alice", LATER, "max_duration")).thenThrows("invalid");
    });

    it("is cancelled when the caller leaves", () => {
      spec.given(ringing).when(leave("alice")).then([left("alice"), ended("cancelled")]);
    });

    it("keeps ringing when the callee leaves the call's channel", () => {
      spec.given(ringing).when(leave("bob")).thenNothingHappened();
    });

    it("refuses no_answer from a client: the timer decides it", () => {
      spec.given(ringing).when(reject("bob", "no_answer")).thenThrows("invalid", /ringing timeout/);
    });

    it("refuses a rejection by the caller", () => {
      spec.given(ringing).when(reject("alice")).thenThrows("conflict");
    });

    it("is not recorded before it is answered", () => {
      spec.given(ringing).when(startRecording("alice")).thenThrows("conflict", /once answered/);
      spec.given(ringing).when(stopRecording("alice")).thenNothingHappened();
    });

    it("lets the caller ring more users, busy ones reported", () => {
      spec
        .given(ringing)
        .when(invite("alice", ["carol", "dan", "bob", "alice"], ["dan"]))
        .then([invited(["carol"]), rejected("dan", "busy")]);
    });

    it("refuses an invitation of an empty user id", () => {
      spec.given(ringing).when(invite("alice", ["carol", ""])).thenThrows("invalid");
    });

    it("does not let a ringing callee invite", () => {
      spec.given(ringing).when(invite("bob", ["carol"])).thenThrows("not_a_member");
    });

    it("refuses users the call does not involve", () => {
      for (const command of [answer("mallory", "m"), join("mallory"), reject("mallory"), end("mallory"), leave("mallory"), invite("mallory", ["eve"]), startRecording("mallory"), stopRecording("mallory")]) {
        spec.given(ringing).when(command).thenThrows("not_a_member");
      }
    });

    it("is not found from another workspace", () => {
      const elsewhere: CallCommand = { type: "AnswerCall", data: { meta: commandMeta({ actorId: "bob", workspaceId: "w2" }), callId: CALL, connectionId: null } };
      spec.given(ringing).when(elsewhere).thenThrows("not_found");
    });

    it("refuses a new call under its id, but ignores its caller's redelivered initiate", () => {
      spec.given(ringing).when(initiate("alice", ["bob"])).thenNothingHappened();
      spec.given(ringing).when(initiate("mallory", ["bob"])).thenThrows("conflict");
    });

    it("sets the ringing timer to the ringing deadline", () => {
      expect(timerOf(ringing)).toEqual({
        at: T0 + RINGING,
        workspaceId: "w1",
        command: { type: "ExpireRinging", data: { callId: CALL, deadline: T0 + RINGING } },
      });
    });
  });

  describe("when the ringing timer fires", () => {
    it("ends an unanswered 1:1 call with no_answer", () => {
      spec.given(ringing).when(expireRinging(T0 + RINGING)).then([rejected("bob", "no_answer"), ended("no_answer")]);
    });

    it("ends it the same when the timer comes late", () => {
      spec.given(ringing).when(expireRinging(T0 + RINGING, T0 + RINGING + 5_000)).then([rejected("bob", "no_answer"), ended("no_answer")]);
    });

    it("does nothing before its deadline", () => {
      spec.given(ringing).when(expireRinging(T0 + RINGING, T0 + RINGING - 1)).thenNothingHappened();
    });

    it("does nothing after the answer (a stale ringing timer), and the timer moves to the maximum duration", () => {
      spec.given(active).when(expireRinging(T0 + RINGING)).thenNothingHappened();
      expect(timerOf(active)).toEqual({
        at: T0 + MAX_DURATION,
        workspaceId: "w1",
        command: { type: "ExpireCallDuration", data: { callId: CALL, deadline: T0 + MAX_DURATION } },
      });
    });

    it("does nothing once the call ended, and an ended call has no timer", () => {
      const declined = [...ringing, rejected("bob"), ended("rejected", 0, "bob")];
      spec.given(declined).when(expireRinging(T0 + RINGING)).thenNothingHappened();
      expect(timerOf(declined)).toBeUndefined();
    });

    it("fires once: after it ended the call, the same timer again does nothing", () => {
      const expired = [...ringing, rejected("bob", "no_answer"), ended("no_answer")];
      spec.given(expired).when(expireRinging(T0 + RINGING)).thenNothingHappened();
      expect(timerOf(expired)).toBeUndefined();
    });
  });

  describe("when a group call is ringing", () => {
    it("removes only the callee who declines", () => {
      spec.given(groupRinging).when(reject("bob")).then([rejected("bob")]);
    });

    it("ends rejected when the last callee still ringing declines, nobody having answered", () => {
      spec
        .given([...groupRinging, rejected("bob")])
        .when(reject("carol"))
        .then([rejected("carol"), ended("rejected", 0, "carol")]);
    });

    it("ends no_answer when the last callee still ringing times out", () => {
      spec
        .given([...groupRinging, rejected("bob")])
        .when(expireRinging(T0 + RINGING))
        .then([rejected("carol", "no_answer"), ended("no_answer")]);
    });

    it("times out every callee due at the deadline, in id order", () => {
      spec
        .given(groupRinging)
        .when(expireRinging(T0 + RINGING))
        .then([rejected("bob", "no_answer"), rejected("carol", "no_answer"), ended("no_answer")]);
    });

    it("keeps ringing a callee invited later, with the later deadline", () => {
      const history = [...groupRinging, invited(["dan"], T0 + 30_000)];
      spec
        .given(history)
        .when(expireRinging(T0 + RINGING))
        .then([rejected("bob", "no_answer"), rejected("carol", "no_answer")]);
      const afterFirst = [...history, rejected("bob", "no_answer"), rejected("carol", "no_answer")];
      expect(timerOf(afterFirst)).toMatchObject({ at: T0 + 30_000 + RINGING, command: { type: "ExpireRinging" } });
      spec
        .given(afterFirst)
        .when(expireRinging(T0 + 30_000 + RINGING))
        .then([rejected("dan", "no_answer"), ended("no_answer")]);
    });

    it("does not let a callee who declined answer while it still rings for others", () => {
      spec.given([...groupRinging, rejected("bob")]).when(answer("bob", "bob-phone")).thenThrows("conflict", /no longer rings/);
    });
  });

  describe("when a group call is active", () => {
    it("lets another callee answer, with the maximum duration of the first answer", () => {
      spec
        .given(groupActive)
        .when(answer("carol", "carol-laptop", T0 + 20_000))
        .then([answered("carol", "carol-laptop", T0), joined("carol")]);
    });

    it("removes a callee who declines and goes on", () => {
      spec.given(groupActive).when(reject("carol")).then([rejected("carol")]);
    });

    it("stops ringing a callee at the ringing deadline without ending the call", () => {
      spec.given(groupActive).when(expireRinging(T0 + RINGING)).then([rejected("carol", "no_answer")]);
    });

    it("times the next ringing deadline before the maximum duration", () => {
      expect(timerOf(groupActive)).toMatchObject({ at: T0 + RINGING, command: { type: "ExpireRinging", data: { deadline: T0 + RINGING } } });
    });

    it("lets a participant invite more, and leaves those in the call or ringing as they are", () => {
      spec
        .given(groupActive)
        .when(invite("bob", ["dan", "carol", "alice"]))
        .then([invited(["dan"])]);
      spec.given(groupActive).when(invite("bob", ["carol", "alice"])).thenNothingHappened();
    });

    it("rings again someone who declined, and refuses busy invitees without ending the call", () => {
      spec
        .given([...groupActive, rejected("carol")])
        .when(invite("alice", ["carol", "dan"], ["dan"]))
        .then([invited(["carol"]), rejected("dan", "busy")]);
      spec
        .given([...groupActive, rejected("carol")])
        .when(invite("alice", ["dan"], ["dan"]))
        .then([rejected("dan", "busy")]);
    });

    it("goes on when a participant leaves, and ends completed when the last one leaves", () => {
      const threeIn = [...groupActive, answered("carol", null, T0), joined("carol")];
      spec.given(threeIn).when(leave("alice")).then([left("alice")]);
      spec
        .given([...threeIn, left("alice"), left("bob")])
        .when(leave("carol", T0 + 90_000))
        .then([left("carol"), ended("completed", 90_000)]);
    });

    it("ends for the callees still ringing when its last participant leaves", () => {
      spec
        .given([...groupActive, left("alice")])
        .when(leave("bob", T0 + 10_000))
        .then([left("bob"), ended("completed", 10_000)]);
    });

    it("lets someone who left join again, and ignores a join of someone in the call", () => {
      const history = [...groupActive, answered("carol", null, T0), joined("carol"), left("bob")];
      spec.given(history).when(join("bob")).then([joined("bob")]);
      spec.given(history).when(join("carol")).thenNothingHappened();
    });

    it("does not let someone who left end the call, invite or record", () => {
      const history = [...groupActive, left("alice")];
      spec.given(history).when(end("alice")).thenThrows("not_a_member");
      spec.given(history).when(invite("alice", ["dan"])).thenThrows("not_a_member");
      spec.given(history).when(startRecording("alice")).thenThrows("not_a_member");
      spec.given(history).when(leave("alice")).thenNothingHappened();
    });
  });

  describe("when a callee rings on two devices", () => {
    it("names the device that answered, so that the other stops ringing", () => {
      spec.given(ringing).when(answer("bob", "bob-laptop")).then([answered("bob", "bob-laptop"), joined("bob")]);
    });

    it("refuses the other device's late answer, and ignores the same device answering again", () => {
      spec.given(active).when(answer("bob", "bob-laptop")).thenThrows("conflict", /another device/);
      spec.given(active).when(answer("bob", "bob-phone")).thenNothingHappened();
    });

    it("refuses the other device's late rejection: the user is in the call", () => {
      spec.given(active).when(reject("bob")).thenThrows("conflict", /leave or end/);
    });
  });

  describe("when the call is active", () => {
    it("ends completed when a participant hangs up, with its duration and who ended it", () => {
      spec.given(active).when(end("bob", T0 + 42_000)).then([ended("completed", 42_000, "bob")]);
      spec.given(active).when(end("alice", T0 + 42_000, "failed")).then([ended("failed", 42_000, "alice")]);
    });

    it("refuses cancelled once answered", () => {
      spec.given(active).when(end("alice", LATER, "cancelled")).thenThrows("invalid");
    });

    it("goes on when one of two leaves; the last one leaving ends it", () => {
      spec.given(active).when(leave("bob")).then([left("bob")]);
      spec
        .given([...active, left("bob")])
        .when(leave("alice", T0 + 5_000))
        .then([left("alice"), ended("completed", 5_000)]);
    });

    it("refuses an answer or join by a stranger", () => {
      spec.given(active).when(join("mallory")).thenThrows("not_a_member");
      spec.given(active).when(answer("mallory", "m")).thenThrows("not_a_member");
    });
  });

  describe("when the maximum duration passes", () => {
    it("ends the call with max_duration and its whole duration", () => {
      spec.given(active).when(expireDuration(T0 + MAX_DURATION)).then([ended("max_duration", MAX_DURATION)]);
    });

    it("stops a running recording first", () => {
      spec
        .given(recording)
        .when(expireDuration(T0 + MAX_DURATION))
        .then([recordingStopped(null, MAX_DURATION), ended("max_duration", MAX_DURATION)]);
    });

    it("does nothing before the deadline, for another deadline, or once the call ended", () => {
      spec.given(active).when(expireDuration(T0 + MAX_DURATION, T0 + MAX_DURATION - 1)).thenNothingHappened();
      spec.given(active).when(expireDuration(T0 + 1_000)).thenNothingHappened();
      spec.given(ringing).when(expireDuration(T0 + MAX_DURATION)).thenNothingHappened();
      spec.given(over).when(expireDuration(T0 + MAX_DURATION)).thenNothingHappened();
      spec.given([...active, ended("max_duration", MAX_DURATION)]).when(expireDuration(T0 + MAX_DURATION)).thenNothingHappened();
    });
  });

  describe("when recording", () => {
    it("starts by a participant of the active call", () => {
      spec.given(active).when(startRecording("bob")).then([recordingStarted("bob")]);
    });

    it("refuses a ringing callee, a stranger, and someone who left", () => {
      spec.given(groupActive).when(startRecording("carol")).thenThrows("not_a_member");
      spec.given(active).when(startRecording("mallory")).thenThrows("not_a_member");
      spec.given([...active, left("bob")]).when(startRecording("bob")).thenThrows("not_a_member");
    });

    it("records one recording at a time; the same one again is a no-op", () => {
      spec.given(recording).when(startRecording("bob", "rec-1")).thenNothingHappened();
      spec.given(recording).when(startRecording("bob", "rec-2")).thenThrows("conflict", /already being recorded/);
    });

    it("is stopped by any participant, with its duration; stopping again is a no-op", () => {
      spec.given(recording).when(stopRecording("bob", T0 + 12_000)).then([recordingStopped("bob", 12_000)]);
      spec.given([...recording, recordingStopped("bob", 12_000)]).when(stopRecording("alice")).thenNothingHappened();
      spec.given(recording).when(stopRecording("mallory")).thenThrows("not_a_member");
    });

    it("can start again after a stop", () => {
      spec
        .given([...recording, recordingStopped("bob", 12_000)])
        .when(startRecording("alice", "rec-2"))
        .then([recordingStarted("alice", "rec-2")]);
    });

    it("stops when the call ends, by hang-up or the last leave", () => {
      spec
        .given(recording)
        .when(end("bob", T0 + 8_000))
        .then([recordingStopped(null, 8_000), ended("completed", 8_000, "bob")]);
      spec
        .given([...recording, left("bob")])
        .when(leave("alice", T0 + 9_000))
        .then([left("alice"), recordingStopped(null, 9_000), ended("completed", 9_000)]);
    });
  });

  describe("when the call has ended", () => {
    it("lets what is done already be a no-op: end, leave, reject, stop recording", () => {
      spec.given(over).when(end("bob")).thenNothingHappened();
      spec.given(over).when(leave("alice")).thenNothingHappened();
      spec.given(over).when(stopRecording("alice")).thenNothingHappened();
      spec.given([...ringing, ended("cancelled", 0, "alice")]).when(reject("bob")).thenNothingHappened();
    });

    it("refuses what needs a live call with call ended", () => {
      for (const command of [answer("bob", "bob-laptop"), join("bob"), invite("alice", ["dan"]), startRecording("alice")]) {
        spec.given(over).when(command).thenThrows("conflict", /has ended/);
      }
    });

    it("still tells strangers they are not part of it", () => {
      spec.given(over).when(end("mallory")).thenThrows("not_a_member");
    });

    it("ignores its caller's redelivered initiate", () => {
      spec.given(over).when(initiate("alice", ["bob"])).thenNothingHappened();
    });
  });

  describe("the state", () => {
    it("folds a call's life: ringing, active with a recording, ended", () => {
      expect(spec.given(groupRinging).state).toEqual({
        status: "ringing",
        callId: CALL,
        workspaceId: "w1",
        callerId: "alice",
        parties: { alice: { status: "joined", connectionId: null }, bob: { status: "ringing", until: T0 + RINGING }, carol: { status: "ringing", until: T0 + RINGING } },
      });
      expect(spec.given([...groupActive, recordingStarted("bob")]).state).toMatchObject({
        status: "active",
        answeredAt: T0,
        maxDurationExpiresAt: T0 + MAX_DURATION,
        recording: { recordingId: "rec-1", startedBy: "bob", startedAt: T0 },
        parties: { bob: { status: "joined", connectionId: "bob-phone" } },
      });
      expect(spec.given([...groupActive, ended("completed", 0, "alice")]).state).toMatchObject({ status: "ended", reason: "completed" });
    });

    it("survives the changelog's JSON round trip", () => {
      const state = spec.given([...groupActive, recordingStarted("bob"), rejected("carol"), left("alice")]).state;
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    });

    it("treats user ids as plain keys, __proto__ included", () => {
      const history = [started("alice", ["__proto__"])];
      const state = spec.given(history).state as { parties: object };
      expect(Object.keys(state.parties)).toEqual(["alice", "__proto__"]);
      spec.given(history).when(answer("__proto__", "p")).then([answered("__proto__", "p"), joined("__proto__")]);
      spec.given(history).when(join("constructor")).thenThrows("not_a_member");
    });

    it("is total: events that do not apply change nothing", () => {
      expect(spec.given([answered("bob", "p"), joined("bob"), left("bob"), recordingStarted("bob"), ended("completed")]).state).toEqual({ status: "absent" });
      expect(spec.given([...ringing, recordingStopped("alice", 1)]).state).toEqual(spec.given(ringing).state);
      expect(spec.given([...over, started("mallory", ["eve"]), joined("eve")]).state).toEqual(spec.given(over).state);
    });

    it("reads ParticipantsInvited written before its ringing deadline: the invitee rings with no timer", () => {
      const old: DecidedCallEvent = { type: "ParticipantsInvited", data: { callId: CALL, userIds: ["dan"], ringingExpiresAt: null } };
      const history = [...active, old];
      expect(spec.given(history).state).toMatchObject({ parties: { dan: { status: "ringing", until: null } } });
      expect(timerOf(history)).toMatchObject({ command: { type: "ExpireCallDuration" } });
    });
  });

  describe("when a signal is sent", () => {
    const offer = (from: string, to: string, workspaceId = "w1"): SignalCommand => ({
      type: "SendOffer",
      data: { meta: commandMeta({ actorId: from, workspaceId, issuedAt: LATER }), callId: CALL, toUserId: to, sdp: "v=0" },
    });
    const candidate = (from: string, to: string): SignalCommand => ({
      type: "SendIceCandidate",
      data: { meta: commandMeta({ actorId: from, issuedAt: LATER }), callId: CALL, toUserId: to, candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null },
    });

    it("relays an offer from the caller to a callee still ringing, and back once answered", () => {
      spec.given(ringing).when(offer("alice", "bob")).then([{ type: "OfferRelayed", data: { callId: CALL, fromUserId: "alice", toUserId: "bob", sdp: "v=0" } }]);
      spec
        .given(active)
        .when(candidate("bob", "alice"))
        .then([
          {
            type: "IceCandidateRelayed",
            data: { callId: CALL, fromUserId: "bob", toUserId: "alice", candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null },
          },
        ]);
    });

    it("refuses a sender or a recipient outside the call, and a call that is over or elsewhere", () => {
      spec.given(ringing).when(offer("mallory", "bob")).thenThrows("not_a_participant");
      spec.given(ringing).when(offer("alice", "mallory")).thenThrows("not_a_participant");
      spec.given([...ringing, rejected("bob")]).when(offer("alice", "bob")).thenThrows("not_a_participant");
      spec.given(groupRinging.concat(rejected("carol"))).when(offer("alice", "carol")).thenThrows("not_a_participant");
      spec.given([...active, left("bob"), joined("carol")]).when(offer("bob", "alice")).thenThrows("not_a_participant");
      spec.given(over).when(offer("alice", "bob")).thenThrows("not_found");
      spec.given(ringing).when(offer("alice", "bob", "w2")).thenThrows("not_found");
      spec.given(ringing).when(offer("alice", "alice")).thenThrows("invalid");
    });
  });

  describe("the calls processor", () => {
    const definition = callProcessor(OPTIONS);
    const window = definition.dedupe!;

    /** Runs commands through the runtime's pure step, as the processor would, and returns every event written. */
    function run(...commands: CallCommand[]): { events: (CallEvent | SignalEvent)[]; snapshot: AggregateSnapshot<CallState> | undefined } {
      let snapshot: AggregateSnapshot<CallState> | undefined;
      const events: (CallEvent | SignalEvent)[] = [];
      for (const command of commands) {
        const step = stepCommand(definition, snapshot, command, window);
        if (step.kind === "failed") throw step.error;
        if (step.kind === "duplicate") continue;
        snapshot = step.snapshot ?? snapshot;
        if (step.kind === "accepted") events.push(...step.events);
      }
      return { events, snapshot };
    }

    it("runs the calls context with its decider and timer", () => {
      expect(definition.contexts).toEqual(["calls", "signaling"]);
      expect(definition.timer?.(spec.given(ringing).state, CALL)).toEqual(timerOf(ringing));
    });

    it("emits each event once when commands are redelivered with the same id", () => {
      const { events } = run(
        initiate("alice", ["bob"]),
        initiate("alice", ["bob"]),
        answer("bob", "bob-phone"),
        answer("bob", "bob-phone"),
        startRecording("bob", "rec-1", T0 + 2_000),
        startRecording("bob", "rec-1", T0 + 2_000),
        end("alice", T0 + 3_000),
        end("alice", T0 + 3_000),
      );
      expect(events.map((event) => event.type)).toEqual(["CallStarted", "CallAnswered", "ParticipantJoined", "RecordingStarted", "RecordingStopped", "CallEnded"]);
    });

    it("answers a redelivered command with its first outcome, even a rejection", () => {
      const { snapshot } = run(initiate("alice", ["bob"]), answer("mallory", "m"));
      const again = stepCommand(definition, snapshot, answer("mallory", "m"), window);
      expect(again).toMatchObject({ kind: "duplicate", outcome: { ok: false, error: { code: "not_a_member" } } });
    });

    it("fires the ringing timer once: a repeated timer command is a duplicate", () => {
      const timer = expireRinging(T0 + RINGING);
      const { events, snapshot } = run(initiate("alice", ["bob"]), timer, timer);
      expect(events.map((event) => event.type)).toEqual(["CallStarted", "CallRejected", "CallEnded"]);
      expect(events.at(-1)?.data).toMatchObject({ reason: "no_answer", endedBy: null });
      expect(callTimer(snapshot!.state, CALL)).toBeUndefined();
    });

    it("answers {callId}, and {callId, recordingId} for a started recording", () => {
      const first = stepCommand(definition, undefined, initiate("alice", ["bob"]), window);
      expect(first).toMatchObject({ kind: "accepted", outcome: { ok: true, result: { callId: CALL } } });
      const { snapshot } = run(initiate("alice", ["bob"]), answer("bob", "bob-phone"));
      expect(stepCommand(definition, snapshot, startRecording("bob", "rec-9", T0 + 2_000), window)).toMatchObject({
        outcome: { ok: true, result: { callId: CALL, recordingId: "rec-9" } },
      });
    });
  });
});
