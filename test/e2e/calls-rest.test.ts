import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrives, listen, received, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const LOBBY_EVENTS = ["call:incoming", "call:answered", "call:rejected", "call:ended"];
const CALL_EVENTS = ["participant_joined", "participant_left", "recording_started", "recording_stopped"];

/**
 * One call over REST (`/api/calls/:call_id/…`) and the socket's remaining call actions
 * (`call:join`, `call:leave`, `call:invite` on `webrtc:lobby`; `invite`, `leave_call`,
 * `start_recording`, `stop_recording` on `call:{callId}`), with the stock phoenix client and
 * real HTTP against the whole service.
 */
describe("calls over REST and the socket's call actions, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("calls-rest"));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  /** A user's device: its socket, its lobby and its user channel. */
  async function device(user: string, workspace = "w1") {
    const socket = connectSocket(base, { token: await tokenFor(user, workspace) });
    sockets.push(socket);
    const lobby = await listen(socket, "webrtc:lobby", LOBBY_EVENTS);
    const own = await listen(socket, `user:${user}`, ["incoming_call", "call_ended"]);
    return { socket, lobby, own, user, workspace };
  }
  type Device = Awaited<ReturnType<typeof device>>;

  /** An HTTP request of `user` (in `workspace`), with a JSON body when one is given. */
  async function api(who: { user: string; workspace: string }, method: string, path: string, body?: unknown, raw?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(who.user, who.workspace)}` };
    if (body !== undefined || raw !== undefined) headers["content-type"] = "application/json";
    const sent = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const response = await fetch(`${base}${path}`, { method, headers, ...(sent === undefined ? {} : { body: sent }) });
    return { status: response.status, body: (await response.json()) as Payload };
  }

  let alice: Device;
  let bob: Device;
  let carol: Device;
  let dave: Device;
  let erin: Device;
  let frank: Device;
  const eve = { user: "eve", workspace: "w1" };
  /** Alice's namesake in another workspace. */
  const otherAlice = { user: "alice", workspace: "w2" };

  beforeAll(async () => {
    [alice, bob, carol, dave, erin, frank] = await Promise.all([device("alice"), device("bob"), device("carol"), device("dave"), device("erin"), device("frank")]);
    // Callees are found in the caller's workspace through presence: wait until it shows them.
    const presence = await watchPresence(alice.socket, "w1");
    await eventually(async () => (["bob", "carol", "dave", "erin", "frank"].every((user) => presence.users().has(user)) ? true : undefined), 20_000, "presence of everyone");
  }, 60_000);

  let callId: string;
  let aliceCall: Listening;
  let bobCall: Listening;
  const routes = () => [
    ["POST", `/api/calls/${callId}/invite`, { userIds: ["erin"] }],
    ["GET", `/api/calls/${callId}/participants`],
    ["GET", `/api/calls/${callId}/ice-servers`],
    ["POST", `/api/calls/${callId}/recording/start`],
    ["POST", `/api/calls/${callId}/recording/stop`],
    ["GET", `/api/calls/${callId}/recording/status`],
  ] as const;

  it("lists a ringing call's parties with their status and times, for its parties only", async () => {
    const answer = await pushTo(alice.lobby.channel, "call:initiate", { calleeId: "bob", type: "video" });
    expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
    callId = String(answer.response.callId);
    const listed = await api(alice, "GET", `/api/calls/${callId}/participants`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ callId, type: "video", callerId: "alice", conversationId: null, status: "ringing", answeredAt: null, endedAt: null, endReason: null });
    const startedAt = listed.body.startedAt as number;
    expect(listed.body.participants).toEqual([
      { userId: "alice", status: "joined", invitedAt: null, joinedAt: startedAt, leftAt: null, rejectReason: null },
      { userId: "bob", status: "ringing", invitedAt: startedAt, joinedAt: null, leftAt: null, rejectReason: null },
    ]);
    // The ringing callee is a party too.
    expect((await api(bob, "GET", `/api/calls/${callId}/participants`)).status).toBe(200);
  });

  it("answers 404 on every route to anyone the call does not involve, to another workspace's namesake, and for unknown calls", async () => {
    for (const [method, path, body] of routes()) {
      for (const who of [eve, otherAlice]) {
        const answer = await api(who, method, path, body);
        expect({ who, method, path, status: answer.status }).toEqual({ who, method, path, status: 404 });
        expect(answer.body).toMatchObject({ statusCode: 404, error: "Not Found" });
      }
      expect((await api(alice, method, path.replace(callId, "no-such-call"), body)).status).toBe(404);
      const anonymous = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) });
      expect(anonymous.status).toBe(401);
    }
  });

  it("refuses to record a call that is still ringing", async () => {
    const refused = await api(alice, "POST", `/api/calls/${callId}/recording/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/once answered/);
  });

  it("gives a party the call's ICE servers", async () => {
    const answer = await api(bob, "GET", `/api/calls/${callId}/ice-servers`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ callId, ttl: expect.any(Number) });
    const servers = answer.body.iceServers as { urls: string[]; username?: string }[];
    expect(servers.flatMap((server) => server.urls).some((url) => url.startsWith("turn:"))).toBe(true);
    expect(servers.find((server) => server.username !== undefined)?.username).toMatch(/^\d+:bob$/);
  });

  it("invites over REST: the invitee rings like an initial callee, a busy user is reported and not rung", async () => {
    expect((await pushTo(bob.lobby.channel, "call:answer", { callId })).status).toBe("ok");
    await arrives(alice.lobby.inbox, "call:answered", { callId });
    aliceCall = await listen(alice.socket, `call:${callId}`, CALL_EVENTS);
    bobCall = await listen(bob.socket, `call:${callId}`, CALL_EVENTS);
    // Dave, calling Frank, is in another call: busy.
    const other = await pushTo(dave.lobby.channel, "call:initiate", { calleeId: "frank", type: "audio" });
    expect(other.status).toBe("ok");
    await arrives(frank.lobby.inbox, "call:incoming", { callId: other.response.callId });

    const invited = await api(alice, "POST", `/api/calls/${callId}/invite`, { userIds: ["carol", "dave"] });
    expect(invited).toEqual({ status: 200, body: { callId, invited: ["carol"], busy: ["dave"] } });
    const incoming = await arrives(carol.lobby.inbox, "call:incoming", { callId });
    expect(incoming).toEqual({ callId, callerId: "alice", type: "video", conversationId: null, participants: ["alice", "bob", "carol"] });
    expect(await arrives(carol.own.inbox, "incoming_call", { callId })).toEqual(incoming);
    expect(await arrives(alice.lobby.inbox, "call:rejected", { callId, userId: "dave" })).toEqual({ callId, userId: "dave", reason: "busy" });
    expect(received(dave.lobby.inbox, "call:incoming", { callId })).toEqual([]);

    const { body } = await api(bob, "GET", `/api/calls/${callId}/participants`);
    expect(body.status).toBe("active");
    const parties = Object.fromEntries((body.participants as Payload[]).map((party) => [party.userId, party]));
    expect(parties.carol).toMatchObject({ status: "ringing", invitedAt: expect.any(Number), joinedAt: null });
    expect(parties.dave).toMatchObject({ status: "rejected", rejectReason: "busy", leftAt: expect.any(Number) });
    expect(parties.bob).toMatchObject({ status: "joined", joinedAt: body.answeredAt });
  });

  it("lets a ringing invitee come in with call:join, leave with call:leave and join again, seen on call:{callId}", async () => {
    const joined = await pushTo(carol.lobby.channel, "call:join", { callId });
    expect(joined.status, JSON.stringify(joined.response)).toBe("ok");
    expect(joined.response).toMatchObject({ callId, iceServers: expect.any(Array) });
    expect(await arrives(aliceCall.inbox, "participant_joined", { userId: "carol" })).toEqual({ callId, userId: "carol" });
    expect(await arrives(alice.lobby.inbox, "call:answered", { callId, userId: "carol" })).toEqual({ callId, userId: "carol" });

    expect(await pushTo(carol.lobby.channel, "call:leave", { callId })).toEqual({ status: "ok", response: { callId } });
    expect(await arrives(bobCall.inbox, "participant_left", { userId: "carol" })).toEqual({ callId, userId: "carol" });
    const afterLeave = await api(alice, "GET", `/api/calls/${callId}/participants`);
    expect((afterLeave.body.participants as Payload[]).find((party) => party.userId === "carol")).toMatchObject({ status: "left", leftAt: expect.any(Number) });
    // Leaving the call does not end it for the others.
    expect(afterLeave.body.status).toBe("active");

    expect((await pushTo(carol.lobby.channel, "call:join", { callId })).status).toBe("ok");
    await eventually(async () => (received(bobCall.inbox, "participant_joined", { userId: "carol" }).length === 2 ? true : undefined), 10_000, "carol joined again");
    const again = await api(carol, "GET", `/api/calls/${callId}/participants`);
    expect((again.body.participants as Payload[]).find((party) => party.userId === "carol")).toMatchObject({ status: "joined", leftAt: null });
  });

  it("invites over the socket, on the lobby and on call:{callId}", async () => {
    const lobbyInvite = await pushTo(bob.lobby.channel, "call:invite", { callId, calleeIds: ["erin"] });
    expect(lobbyInvite).toEqual({ status: "ok", response: { callId, invited: ["erin"], busy: [] } });
    await arrives(erin.lobby.inbox, "call:incoming", { callId });
    // Erin declines; invited again on the call's topic, she rings again.
    expect((await pushTo(erin.lobby.channel, "call:reject", { callId })).status).toBe("ok");
    await arrives(alice.lobby.inbox, "call:rejected", { callId, userId: "erin" });
    const topicInvite = await pushTo(bobCall.channel, "invite", { calleeId: "erin" });
    expect(topicInvite).toEqual({ status: "ok", response: { callId, invited: ["erin"], busy: [] } });
    await eventually(async () => (received(erin.lobby.inbox, "call:incoming", { callId }).length === 2 ? true : undefined), 10_000, "erin rung again");
    // Those already in the call are left as they are.
    expect(await pushTo(bobCall.channel, "invite", { calleeIds: ["alice", "carol"] })).toEqual({ status: "ok", response: { callId, invited: [], busy: [] } });
  });

  it("starts, reports and stops a recording over REST, pushing recording_started and recording_stopped", async () => {
    expect(await api(carol, "GET", `/api/calls/${callId}/recording/status`)).toEqual({
      status: 200,
      body: { callId, recording: false, recordingId: null, startedBy: null, startedAt: null },
    });
    const started = await api(bob, "POST", `/api/calls/${callId}/recording/start`);
    expect(started.status).toBe(201);
    const recordingId = String(started.body.recordingId);
    expect(started.body).toEqual({ callId, recordingId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(await arrives(aliceCall.inbox, "recording_started")).toEqual({ callId, recordingId, startedBy: "bob" });

    const status = await api(alice, "GET", `/api/calls/${callId}/recording/status`);
    expect(status.body).toEqual({ callId, recording: true, recordingId, startedBy: "bob", startedAt: expect.any(Number) });
    const second = await api(carol, "POST", `/api/calls/${callId}/recording/start`);
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/already being recorded/);

    expect(await api(alice, "POST", `/api/calls/${callId}/recording/stop`)).toEqual({ status: 200, body: { callId, recordingId } });
    expect(await arrives(bobCall.inbox, "recording_stopped")).toEqual({ callId, recordingId, stoppedBy: "alice", durationMs: expect.any(Number) });
    expect((await api(bob, "GET", `/api/calls/${callId}/recording/status`)).body).toMatchObject({ recording: false, recordingId: null });
    const none = await api(alice, "POST", `/api/calls/${callId}/recording/stop`);
    expect(none.status).toBe(409);
    expect(none.body.message).toMatch(/no recording/);
  });

  it("starts and stops a recording on call:{callId}", async () => {
    const started = await pushTo(aliceCall.channel, "start_recording", {});
    expect(started.status, JSON.stringify(started.response)).toBe("ok");
    const { recordingId } = started.response;
    expect(await arrives(bobCall.inbox, "recording_started", { recordingId })).toEqual({ callId, recordingId, startedBy: "alice" });
    expect(await pushTo(aliceCall.channel, "stop_recording", {})).toEqual({ status: "ok", response: { callId, recordingId } });
    expect(await arrives(bobCall.inbox, "recording_stopped", { recordingId })).toMatchObject({ stoppedBy: "alice" });
    expect(await pushTo(aliceCall.channel, "start_recording", { callId: "another-call" })).toMatchObject({ status: "error", response: { reason: "invalid" } });
  });

  it("answers malformed bodies and payloads with 400 and a reason", async () => {
    const invite = (body: unknown, raw?: string) => api(alice, "POST", `/api/calls/${callId}/invite`, body, raw);
    for (const [body, reason] of [
      [{}, /userIds/],
      [{ userIds: { carol: true } }, /userIds must be array/],
      [{ userIds: [{}] }, /must be string/],
      [{ userIds: [] }, /fewer than 1/],
      [{ userIds: ["a", "b", "c", "d", "e", "f", "g", "h"] }, /more than 7/],
      [{ userIds: ["carol", "carol"] }, /duplicate/],
      [{ userIds: ["bad id!"] }, /pattern/],
      [{ userIds: ["alice"] }, /other than yourself/],
    ] as const) {
      const answer = await invite(body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(answer.body.error).toBe("Bad Request");
      expect(answer.body.message).toMatch(reason);
    }
    expect((await invite(undefined, "{not json")).status).toBe(400);
    const stranger = await invite({ userIds: ["mallory"] });
    expect(stranger.status).toBe(404);
    expect(stranger.body.message).toMatch(/no user mallory in your workspace/);

    for (const [event, payload, reason] of [
      ["call:join", {}, /callId is required/],
      ["call:leave", { callId: 42 }, /callId must be a string/],
      ["call:invite", { callId }, /calleeId is required/],
      ["call:invite", { callId, calleeIds: "erin" }, /list of user ids/],
    ] as const) {
      const answer = await pushTo(alice.lobby.channel, event, payload);
      expect(answer).toMatchObject({ status: "error", response: { reason: "invalid" } });
      expect(String(answer.response.message)).toMatch(reason);
    }
    expect(await pushTo(aliceCall.channel, "invite", { calleeIds: [] })).toMatchObject({ status: "error", response: { reason: "invalid" } });
    expect(await pushTo(alice.lobby.channel, "call:join", { callId: "no-such-call" })).toMatchObject({ status: "error", response: { reason: "not_found" } });
    const outsider = await device("eve");
    expect(await pushTo(outsider.lobby.channel, "call:join", { callId })).toMatchObject({ status: "error", response: { reason: "not_found" } });
  });

  it("keeps an ended call readable by its parties for a while, and refuses what it can no longer do", async () => {
    expect((await pushTo(alice.lobby.channel, "call:end", { callId })).status).toBe("ok");
    await arrives(bob.lobby.inbox, "call:ended", { callId });
    const { body } = await api(bob, "GET", `/api/calls/${callId}/participants`);
    expect(body).toMatchObject({ status: "ended", endReason: "completed", endedAt: expect.any(Number) });
    expect((await api(bob, "POST", `/api/calls/${callId}/invite`, { userIds: ["frank"] })).status).toBe(409);
    expect((await api(bob, "GET", `/api/calls/${callId}/ice-servers`)).status).toBe(409);
    expect((await api(bob, "POST", `/api/calls/${callId}/recording/start`)).status).toBe(409);
    expect((await pushTo(carol.lobby.channel, "call:join", { callId })).response).toMatchObject({ reason: "conflict" });
    expect((await api(eve, "GET", `/api/calls/${callId}/participants`)).status).toBe(404);
  });

  it("invites into a conversation's call only members of that conversation", async () => {
    const created = await api(alice, "POST", "/api/conversations", { type: "group", members: ["bob", "carol"], title: "standup" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const conversationId = String(created.body.id);
    const answer = await pushTo(alice.lobby.channel, "call:initiate", { calleeId: "bob", type: "audio", conversationId });
    expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
    const conversationCall = String(answer.response.callId);

    const outsider = await api(alice, "POST", `/api/calls/${conversationCall}/invite`, { userIds: ["frank"] });
    expect(outsider.status).toBe(404);
    expect(outsider.body.message).toMatch(/frank is not a member of this conversation/);
    expect(received(frank.lobby.inbox, "call:incoming", { callId: conversationCall })).toEqual([]);

    expect(await api(alice, "POST", `/api/calls/${conversationCall}/invite`, { userIds: ["carol"] })).toEqual({
      status: 200,
      body: { callId: conversationCall, invited: ["carol"], busy: [] },
    });
    expect(await arrives(carol.lobby.inbox, "call:incoming", { callId: conversationCall })).toMatchObject({ conversationId, participants: ["alice", "bob", "carol"] });
  });

  it("describes every call route in the OpenAPI document, with its parameter, body and responses", async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, Payload>> };
    const described = Object.keys(document.paths).filter((path) => path.startsWith("/api/calls/"));
    expect(described.sort()).toEqual(
      ["/invite", "/participants", "/ice-servers", "/recording/start", "/recording/stop", "/recording/status"].map((path) => `/api/calls/{call_id}${path}`).sort(),
    );
    const invite = document.paths["/api/calls/{call_id}/invite"]?.post;
    expect(invite?.parameters).toEqual([expect.objectContaining({ name: "call_id", in: "path", required: true })]);
    expect(JSON.stringify(invite?.requestBody)).toContain("userIds");
    expect(Object.keys(invite?.responses as Payload).sort()).toEqual(["200", "400", "401", "403", "404", "409", "429", "503"]);
  });
});
