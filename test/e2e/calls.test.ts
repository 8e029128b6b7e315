import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrives, listen, received, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const RINGING_MS = 3_000;
const SIGNALS_PER_MIN = 20;
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host";

const LOBBY_EVENTS = ["call:incoming", "call:answered", "call:rejected", "call:ended", "webrtc:offer", "webrtc:answer", "webrtc:ice-candidate"];
const CALL_EVENTS = ["participant_joined", "participant_left", "recording_started", "recording_stopped", "offer", "answer", "ice_candidate"];
const USER_EVENTS = ["incoming_call", "call_ended"];

/**
 * Calls through the whole service with the stock phoenix client: `webrtc:lobby` pushes → the
 * calls processor → call events → the live-calls projection → pushes to the users' sockets, and
 * signals → the signaling topic → the signal relay → the recipient's sockets only.
 */
describe("calls, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("calls", { CALL_RINGING_TIMEOUT_MS: String(RINGING_MS), RATE_LIMIT_SIGNALS_PER_MIN: String(SIGNALS_PER_MIN) }));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  function connect(user: string, workspace = "w1"): Promise<Socket> {
    return tokenFor(user, workspace).then((token) => {
      const socket = connectSocket(base, { token });
      sockets.push(socket);
      return socket;
    });
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

  /** A user's device: its lobby and its user channel. */
  async function device(user: string, workspace = "w1") {
    const socket = await connect(user, workspace);
    const lobby = await listen(socket, "webrtc:lobby", LOBBY_EVENTS);
    const own = await listen(socket, `user:${user}`, USER_EVENTS);
    return { socket, lobby, own };
  }

  type Device = Awaited<ReturnType<typeof device>>;
  let alice: Device;
  let bobPhone: Device;
  let bobLaptop: Device;
  let carol: Device;

  beforeAll(async () => {
    alice = await device("alice");
    bobPhone = await device("bob");
    bobLaptop = await device("bob");
    carol = await device("carol");
    // Callees are found in the caller's workspace through presence: wait until it shows them.
    const presence = await watchPresence(alice.socket, "w1");
    await eventually(async () => (["alice", "bob", "carol"].every((user) => presence.users().has(user)) ? true : undefined), 20_000, "presence of everyone");
  }, 60_000);

  async function call(from: Device, payload: Payload): Promise<string> {
    const answer = await pushTo(from.lobby.channel, "call:initiate", payload);
    expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
    return String(answer.response.callId);
  }

  let callId: string;
  let aliceCall: Listening;
  let bobCall: Listening;

  it("rings every device of the callee, on the lobby and on the user's channel", async () => {
    const answer = await pushTo(alice.lobby.channel, "call:initiate", { calleeId: "bob", type: "video" });
    expect(answer.status).toBe("ok");
    expect(answer.response).toMatchObject({ callId: expect.any(String), iceServers: expect.any(Array) });
    callId = String(answer.response.callId);
    const incoming = { callId, callerId: "alice", type: "video", conversationId: null, participants: ["alice", "bob"] };
    for (const bob of [bobPhone, bobLaptop]) {
      expect(await arrives(bob.lobby.inbox, "call:incoming", { callId })).toEqual(incoming);
      expect(await arrives(bob.own.inbox, "incoming_call", { callId })).toEqual(incoming);
    }
    expect(received(alice.lobby.inbox, "call:incoming")).toEqual([]);
  });

  it("lets the call's parties join call:{callId}, and refuses anyone else", async () => {
    aliceCall = await listen(alice.socket, `call:${callId}`, CALL_EVENTS);
    bobCall = await listen(bobPhone.socket, `call:${callId}`, CALL_EVENTS);
    const refused = await new Promise<Payload>((resolve) => carol.socket.channel(`call:${callId}`, {}).join().receive("error", resolve));
    expect(refused).toEqual({ reason: "unauthorized" });
    const unknown = await new Promise<Payload>((resolve) => carol.socket.channel("call:no-such-call", {}).join().receive("error", resolve));
    expect(unknown).toEqual({ reason: "unauthorized" });
  });

  it("relays an offer to the ringing callee's devices only", async () => {
    expect(await pushTo(alice.lobby.channel, "webrtc:offer", { callId, to: "bob", sdp: SDP })).toEqual({ status: "ok", response: {} });
    for (const bob of [bobPhone, bobLaptop]) expect(await arrives(bob.lobby.inbox, "webrtc:offer")).toEqual({ callId, from: "alice", sdp: SDP });
    expect(await arrives(bobCall.inbox, "offer")).toEqual({ callId, from: "alice", sdp: SDP });
  });

  it("stops the other devices ringing once one answers, and tells the caller", async () => {
    const answer = await pushTo(bobPhone.lobby.channel, "call:answer", { callId });
    expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
    expect(await arrives(alice.lobby.inbox, "call:answered", { callId })).toEqual({ callId, userId: "bob" });
    expect(await arrives(bobLaptop.lobby.inbox, "call:ended", { callId })).toMatchObject({ callId, reason: "answered_elsewhere" });
    expect(await arrives(bobLaptop.own.inbox, "call_ended", { callId })).toMatchObject({ callId, reason: "answered_elsewhere" });
    expect(await arrives(aliceCall.inbox, "participant_joined")).toEqual({ callId, userId: "bob" });
    await settle();
    expect(received(bobPhone.lobby.inbox, "call:ended", { callId })).toEqual([]);
  });

  it("relays the answer and candidates between the two of them only", async () => {
    expect((await pushTo(bobPhone.lobby.channel, "webrtc:answer", { callId, to: "alice", sdp: { type: "answer", sdp: SDP } })).status).toBe("ok");
    expect(await arrives(alice.lobby.inbox, "webrtc:answer")).toEqual({ callId, from: "bob", sdp: SDP });

    const init = { candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null };
    expect((await pushTo(alice.lobby.channel, "webrtc:ice-candidate", { callId, to: "bob", candidate: init })).status).toBe("ok");
    expect(await arrives(bobPhone.lobby.inbox, "webrtc:ice-candidate")).toEqual({ callId, from: "alice", ...init });
    // On the call's topic, in its own dialect, with the topic's call.
    expect((await pushTo(bobCall.channel, "ice_candidate", { to: "alice", candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0 })).status).toBe("ok");
    expect(await arrives(aliceCall.inbox, "ice_candidate")).toEqual({ callId, from: "bob", candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null });
    expect(await arrives(alice.lobby.inbox, "webrtc:ice-candidate")).toMatchObject({ from: "bob" });
    expect(received(carol.lobby.inbox, "webrtc:offer")).toEqual([]);
    expect(received(carol.lobby.inbox, "webrtc:ice-candidate")).toEqual([]);
  });

  it("refuses signals of anyone outside the call, which reach nobody", async () => {
    expect(await pushTo(carol.lobby.channel, "webrtc:offer", { callId, to: "bob", sdp: SDP })).toMatchObject({ status: "error", response: { reason: "not_a_participant" } });
    expect(await pushTo(alice.lobby.channel, "webrtc:offer", { callId, to: "carol", sdp: SDP })).toMatchObject({ status: "error", response: { reason: "not_a_participant" } });
    expect(await pushTo(alice.lobby.channel, "webrtc:offer", { callId: "no-such-call", to: "bob", sdp: SDP })).toMatchObject({ status: "error", response: { reason: "not_found" } });
    const mallory = await device("alice", "w2");
    expect(await pushTo(mallory.lobby.channel, "webrtc:offer", { callId, to: "bob", sdp: SDP })).toMatchObject({ status: "error", response: { reason: "not_found" } });
    await settle();
    for (const bob of [bobPhone, bobLaptop]) {
      expect(bob.lobby.inbox.filter((item) => item.event.startsWith("webrtc:") && item.payload.from !== "alice")).toEqual([]);
      expect(received(bob.lobby.inbox, "webrtc:offer")).toHaveLength(1);
    }
  });

  it("answers malformed and oversized signals with clear errors", async () => {
    const refusal = async (event: string, payload: Payload) => {
      const answer = await pushTo(alice.lobby.channel, event, payload);
      expect(answer.status).toBe("error");
      expect(answer.response.reason).toBe("invalid");
      return String(answer.response.message);
    };
    expect(await refusal("webrtc:offer", { callId, to: "bob", sdp: 42 })).toMatch(/sdp must be/);
    expect(await refusal("webrtc:offer", { callId, to: "bob", sdp: "hello" })).toMatch(/not a session description/);
    expect(await refusal("webrtc:offer", { callId, to: "bob", sdp: `${SDP}${"a".repeat(40_000)}` })).toMatch(/at most 32768/);
    expect(await refusal("webrtc:offer", { callId, to: "bob", sdp: { type: "answer", sdp: SDP } })).toMatch(/sdp.type must be offer/);
    expect(await refusal("webrtc:ice-candidate", { callId, to: "bob", candidate: `candidate:${"x".repeat(2_000)}` })).toMatch(/at most 1024/);
    expect(await refusal("webrtc:ice-candidate", { callId, to: "bob", candidate: ["no"] })).toMatch(/candidate/);
    expect(await refusal("webrtc:answer", { to: "bob", sdp: SDP })).toMatch(/callId is required/);
    expect(await refusal("call:initiate", { calleeIds: ["a", "b", "c", "d", "e", "f", "g", "h"], type: "audio" })).toMatch(/at most 7/);
    expect(await refusal("call:initiate", { calleeId: "bob", type: "hologram" })).toMatch(/type must be/);
    expect((await pushTo(alice.lobby.channel, "call:teleport", {})).response).toMatchObject({ reason: "unknown_event" });
  });

  it("refuses callees of another workspace as unknown, and reports a busy callee", async () => {
    const mallory = await device("mallory", "w2");
    expect(await pushTo(mallory.lobby.channel, "call:initiate", { calleeId: "bob", type: "audio" })).toMatchObject({ status: "error", response: { reason: "not_found" } });

    const dave = await device("dave");
    const busyCall = await call(dave, { calleeId: "bob", type: "audio" });
    expect(await arrives(dave.lobby.inbox, "call:rejected", { callId: busyCall })).toEqual({ callId: busyCall, userId: "bob", reason: "busy" });
    expect(await arrives(dave.lobby.inbox, "call:ended", { callId: busyCall })).toMatchObject({ reason: "busy" });
    expect(received(bobPhone.lobby.inbox, "call:incoming", { callId: busyCall })).toEqual([]);
  });

  it("ends the call for both when the caller hangs up, once, and for nobody of the same id in another workspace", async () => {
    const namesake = await device("bob", "w2");
    expect((await pushTo(alice.lobby.channel, "call:end", { callId })).status).toBe("ok");
    const ended = await arrives(bobPhone.lobby.inbox, "call:ended", { callId, reason: "completed" });
    expect(ended).toEqual({ callId, reason: "completed", endedBy: "alice", durationMs: expect.any(Number) });
    expect(await arrives(alice.lobby.inbox, "call:ended", { callId })).toEqual(ended);
    expect(await arrives(bobPhone.own.inbox, "call_ended", { callId, reason: "completed" })).toEqual(ended);
    await settle();
    expect(received(alice.lobby.inbox, "call:ended", { callId })).toHaveLength(1);
    expect(received(bobPhone.lobby.inbox, "call:ended", { callId })).toHaveLength(1);
    expect([...namesake.lobby.inbox, ...namesake.own.inbox]).toEqual([]);
    expect(await pushTo(alice.lobby.channel, "webrtc:offer", { callId, to: "bob", sdp: SDP })).toMatchObject({ status: "error", response: { reason: "not_found" } });
  });

  it("ends a 1:1 call the callee rejects", async () => {
    const rejected = await call(alice, { calleeIds: ["carol"], type: "audio" });
    await arrives(carol.lobby.inbox, "call:incoming", { callId: rejected });
    expect((await pushTo(carol.lobby.channel, "call:reject", { callId: rejected })).status).toBe("ok");
    expect(await arrives(alice.lobby.inbox, "call:rejected", { callId: rejected })).toEqual({ callId: rejected, userId: "carol", reason: "declined" });
    expect(await arrives(alice.lobby.inbox, "call:ended", { callId: rejected })).toEqual({ callId: rejected, reason: "rejected", endedBy: "carol", durationMs: 0 });
  });

  it(
    "ends a call nobody answers after the ringing timeout, once",
    async () => {
      const unanswered = await call(alice, { calleeId: "carol", type: "video" });
      await arrives(carol.own.inbox, "incoming_call", { callId: unanswered });
      const ended = await arrives(carol.lobby.inbox, "call:ended", { callId: unanswered });
      expect(ended).toEqual({ callId: unanswered, reason: "no_answer", endedBy: null, durationMs: 0 });
      expect(await arrives(alice.lobby.inbox, "call:ended", { callId: unanswered })).toEqual(ended);
      expect(await arrives(alice.lobby.inbox, "call:rejected", { callId: unanswered })).toEqual({ callId: unanswered, userId: "carol", reason: "no_answer" });
      await new Promise((resolve) => setTimeout(resolve, RINGING_MS));
      expect(received(alice.lobby.inbox, "call:ended", { callId: unanswered })).toHaveLength(1);
      expect(received(carol.own.inbox, "call_ended", { callId: unanswered })).toHaveLength(1);
    },
    30_000,
  );

  it("limits a signaling flood per user", async () => {
    const flooder = await device("flooder");
    const answers = [];
    for (let index = 0; index < SIGNALS_PER_MIN + 5; index += 1) {
      answers.push(await pushTo(flooder.lobby.channel, "webrtc:ice-candidate", { callId: "none", to: "bob", candidate: CANDIDATE }));
    }
    expect(answers.slice(0, SIGNALS_PER_MIN).every((answer) => answer.response.reason === "not_found")).toBe(true);
    expect(answers.slice(SIGNALS_PER_MIN).every((answer) => answer.response.reason === "rate_limited")).toBe(true);
    // The service still answers.
    expect((await pushTo(alice.lobby.channel, "call:answer", { callId: "none" })).response).toMatchObject({ reason: "not_found" });
  });
});
