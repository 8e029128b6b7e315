import { describe, expect, it } from "vitest";
import { MAX_CANDIDATE, MAX_SDP, initiatePayload, invitePayload, onTopic, rejectReason, signalPayload } from "../../../../src/contexts/calls/channels/call-payloads.js";
import { signalPushes } from "../../../../src/contexts/calls/projections/signal-relay/signal-relay.js";

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n";
const CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host";

describe("call payloads", () => {
  it("reads an initiate with one callee or several, once each", () => {
    expect(initiatePayload({ calleeId: "bob", type: "video" })).toEqual({ calleeIds: ["bob"], callType: "video", conversationId: null });
    expect(initiatePayload({ calleeIds: ["bob", "carol", "bob"], type: "audio", conversationId: "c1" })).toEqual({
      calleeIds: ["bob", "carol"],
      callType: "audio",
      conversationId: "c1",
    });
  });

  it("refuses initiates without callees, with too many, of an unknown type, or naming both forms", () => {
    expect(() => initiatePayload({ type: "audio" })).toThrow(/calleeId is required/);
    expect(() => initiatePayload({ calleeIds: [], type: "audio" })).toThrow(/at least one/);
    expect(() => initiatePayload({ calleeIds: "bob", type: "audio" })).toThrow(/list of user ids/);
    expect(() => initiatePayload({ calleeIds: ["a", "b", "c", "d", "e", "f", "g", "h"], type: "audio" })).toThrow(/at most 7/);
    expect(() => initiatePayload({ calleeIds: [42], type: "audio" })).toThrow(/user ids/);
    expect(() => initiatePayload({ calleeId: "bob", type: "fax" })).toThrow(/type must be one of audio, video/);
    expect(() => initiatePayload({ calleeId: "bob", calleeIds: ["carol"], type: "audio" })).toThrow(/not both/);
  });

  it("reads an invite's call and callees, once each, and refuses one without either", () => {
    expect(invitePayload({ callId: "k", calleeId: "erin" })).toEqual({ callId: "k", calleeIds: ["erin"] });
    expect(invitePayload({ callId: "k", calleeIds: ["erin", "frank", "erin"] })).toEqual({ callId: "k", calleeIds: ["erin", "frank"] });
    expect(() => invitePayload({ calleeId: "erin" })).toThrow(/callId is required/);
    expect(() => invitePayload({ callId: "k" })).toThrow(/calleeId is required/);
    expect(() => invitePayload({ callId: "k", calleeIds: [] })).toThrow(/at least one/);
    expect(() => invitePayload({ callId: "k", calleeIds: ["a", "b", "c", "d", "e", "f", "g", "h"] })).toThrow(/at most 7/);
  });

  it("gives a push on call:{callId} the topic's call, and refuses one naming another", () => {
    expect(onTopic({}, "k")).toEqual({ callId: "k" });
    expect(onTopic({ callId: null, calleeId: "erin" }, "k")).toEqual({ callId: "k", calleeId: "erin" });
    expect(onTopic({ callId: "k" }, "k")).toEqual({ callId: "k" });
    expect(() => onTopic({ callId: "other" }, "k")).toThrow(/callId must be the one of this topic/);
    expect(() => onTopic({ callId: 42 }, "k")).toThrow(/callId must be the one of this topic/);
  });

  it("reads a rejection's reason, declined by default", () => {
    expect(rejectReason({})).toBe("declined");
    expect(rejectReason({ reason: "busy" })).toBe("busy");
    expect(() => rejectReason({ reason: "no_answer" })).toThrow(/declined or busy/);
  });

  it("reads an SDP as text or as a session description of the event's type", () => {
    expect(signalPayload("offer", { callId: "k", to: "bob", sdp: SDP })).toEqual({ kind: "offer", callId: "k", to: "bob", sdp: SDP });
    expect(signalPayload("answer", { callId: "k", to: "bob", sdp: { type: "answer", sdp: SDP } })).toMatchObject({ sdp: SDP });
    expect(() => signalPayload("answer", { callId: "k", to: "bob", sdp: { type: "offer", sdp: SDP } })).toThrow(/sdp.type must be answer/);
    expect(() => signalPayload("offer", { callId: "k", to: "bob", sdp: null })).toThrow(/sdp must be/);
    expect(() => signalPayload("offer", { callId: "k", to: "bob", sdp: "<html>" })).toThrow(/not a session description/);
    expect(() => signalPayload("offer", { callId: "k", to: "bob", sdp: SDP + "a".repeat(MAX_SDP) })).toThrow(/at most 32768/);
    expect(() => signalPayload("offer", { to: "bob", sdp: SDP })).toThrow(/callId is required/);
    expect(() => signalPayload("offer", { callId: "k", sdp: SDP })).toThrow(/to is required/);
  });

  it("reads a candidate as a line or as an RTCIceCandidateInit, and the end of candidates", () => {
    const init = { candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" };
    expect(signalPayload("ice-candidate", { callId: "k", to: "bob", candidate: init })).toEqual({ kind: "ice-candidate", callId: "k", to: "bob", ...init });
    expect(signalPayload("ice-candidate", { callId: "k", to: "bob", candidate: CANDIDATE, sdpMid: "1" })).toEqual({
      kind: "ice-candidate",
      callId: "k",
      to: "bob",
      candidate: CANDIDATE,
      sdpMid: "1",
      sdpMLineIndex: null,
      usernameFragment: null,
    });
    expect(signalPayload("ice-candidate", { callId: "k", to: "bob", candidate: "" })).toMatchObject({ candidate: "" });
    expect(() => signalPayload("ice-candidate", { callId: "k", to: "bob", candidate: `candidate:${"x".repeat(MAX_CANDIDATE)}` })).toThrow(/at most 1024/);
    expect(() => signalPayload("ice-candidate", { callId: "k", to: "bob", candidate: "a=rtpmap" })).toThrow(/ICE candidate line/);
    expect(() => signalPayload("ice-candidate", { callId: "k", to: "bob", candidate: { candidate: CANDIDATE, sdpMLineIndex: -1 } })).toThrow(/sdpMLineIndex/);
  });
});

describe("the signal relay", () => {
  it("sends each relayed signal to its recipient, in order, and ignores other records", () => {
    const meta = { eventId: "e", occurredAt: 1, correlationId: "c", causationId: null, actorId: "alice", workspaceId: "w1" };
    const route = { meta, callId: "k", fromUserId: "alice", toUserId: "bob" };
    expect(
      signalPushes([
        { fullName: "quikchat.signaling.OfferRelayed", value: { ...route, sdp: SDP } },
        { fullName: "quikchat.calls.CallEnded", value: {} },
        { fullName: "quikchat.signaling.IceCandidateRelayed", value: { ...route, candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null } },
      ]),
    ).toEqual([
      { userId: "bob", workspaceId: "w1", topic: "signal", kind: "offer", payload: { callId: "k", from: "alice", sdp: SDP } },
      { userId: "bob", workspaceId: "w1", topic: "signal", kind: "ice-candidate", payload: { callId: "k", from: "alice", candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null } },
    ]);
  });
});
