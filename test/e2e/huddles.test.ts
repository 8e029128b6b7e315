import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrives, listen, received, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const HUDDLE_EVENTS = [
  "huddle:participant:joined",
  "huddle:participant:updated",
  "huddle:participant:left",
  "huddle:ended",
  "participant_joined",
  "participant_left",
  "participant_muted",
  "participant_unmuted",
  "huddle_ended",
];
/** At most three at once here, so that a fourth is refused. */
const MAX_PARTICIPANTS = 3;

/**
 * Huddles through the whole service with three stock phoenix clients, members of one
 * conversation: `huddle:create` on `chat:` → the huddles processor → the live-huddles projection
 * → `huddle:started` / `huddle_started` on the conversation's topics; joins of
 * `huddle:{huddleId}`, toggles seen by the others in both vocabularies, refusals, and the end
 * when the last one leaves.
 */
describe("huddles, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("huddles", { HUDDLE_MAX_PARTICIPANTS: String(MAX_PARTICIPANTS) }));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function connect(user: string, workspace = "w1"): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user, workspace) });
    sockets.push(socket);
    return socket;
  }

  /** An HTTP request of `user` (in `workspace`), with a JSON body when one is given (`raw`: as it is). */
  async function api(user: string, method: string, path: string, body?: unknown, { workspace = "w1", raw }: { workspace?: string; raw?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(user, workspace)}` };
    const sent = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (sent !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${base}${path}`, { method, headers, ...(sent === undefined ? {} : { body: sent }) });
    return { status: response.status, body: (await response.json()) as Payload };
  }

  /** What `socket` gets when it tries to join `topic`: the join's reply. */
  function joinReply(socket: Socket, topic: string, params: Payload = {}): Promise<{ status: string; response: Payload }> {
    return new Promise((resolve) =>
      socket
        .channel(topic, params)
        .join()
        .receive("ok", (response: Payload) => resolve({ status: "ok", response }))
        .receive("error", (response: Payload) => resolve({ status: "error", response })),
    );
  }

  let conversationId: string;
  let huddleId: string;
  const users = ["alice", "bob", "carol"] as const;
  type User = (typeof users)[number];
  const socketOf = {} as Record<User, Socket>;
  const chat = {} as Record<User, Listening>;
  let bobConversation: Listening;
  const huddle = {} as Record<User, Listening>;
  let dave: Socket;

  beforeAll(async () => {
    const created = await api("alice", "POST", "/api/conversations", { type: "group", members: ["bob", "carol"], name: "Standup" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    conversationId = String(created.body.id);
    for (const user of users) {
      socketOf[user] = await connect(user);
      chat[user] = await listen(socketOf[user], `chat:${conversationId}`, ["huddle:started", "huddle:ended", "huddle_started"]);
    }
    bobConversation = await listen(socketOf.bob, `conversation:${conversationId}`, ["huddle_started", "huddle_ended", "huddle:started"]);
    dave = await connect("dave");
    // Invitees are found in the workspace through presence: wait until it shows dave.
    const presence = await watchPresence(dave, "w1");
    await eventually(async () => (presence.users().has("dave") ? true : undefined), 20_000, "presence of dave");
  }, 60_000);

  it("starts a huddle from chat:, and every member sees it start on the conversation's topics", async () => {
    const answer = await pushTo(chat.alice.channel, "huddle:create", { title: "Quick sync" });
    expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
    expect(answer.response).toEqual({ huddleId: expect.any(String), created: true });
    huddleId = String(answer.response.huddleId);
    const started = { huddleId, conversationId, startedBy: "alice" };
    for (const user of users) expect(await arrives(chat[user].inbox, "huddle:started", { huddleId })).toEqual(started);
    expect(await arrives(bobConversation.inbox, "huddle_started", { huddleId })).toEqual(started);
    // Each dialect its own names.
    expect(received(chat.bob.inbox, "huddle_started")).toEqual([]);
    expect(received(bobConversation.inbox, "huddle:started")).toEqual([]);
    // A second start while it is live answers the same huddle.
    expect(await pushTo(chat.bob.channel, "huddle:create", {})).toEqual({ status: "ok", response: { huddleId, created: false } });
  });

  it("joins everyone on huddle:{huddleId}, each join reply listing every participant with their media state", async () => {
    huddle.alice = await listen(socketOf.alice, `huddle:${huddleId}`, HUDDLE_EVENTS);
    huddle.bob = await listen(socketOf.bob, `huddle:${huddleId}`, HUDDLE_EVENTS);
    // Carol arrives with her camera on.
    const channel = socketOf.carol.channel(`huddle:${huddleId}`, { video: true });
    huddle.carol = { channel, inbox: [] };
    for (const event of HUDDLE_EVENTS) channel.on(event, (payload: Payload) => void huddle.carol.inbox.push({ event, payload }));
    const joined = await new Promise<{ status: string; response: Payload }>((resolve) =>
      channel
        .join()
        .receive("ok", (response: Payload) => resolve({ status: "ok", response }))
        .receive("error", (response: Payload) => resolve({ status: "error", response })),
    );
    expect(joined.status, JSON.stringify(joined.response)).toBe("ok");
    const state = (userId: string, video = false) => ({ userId, audio: true, video, screen: false, handRaised: false, joinedAt: expect.any(Number) });
    expect(joined.response).toEqual({
      huddleId,
      conversationId,
      title: "Quick sync",
      createdBy: "alice",
      status: "live",
      createdAt: expect.any(Number),
      endReason: null,
      invited: [],
      participants: [state("alice"), state("bob"), state("carol", true)],
    });
    for (const user of ["bob", "carol"]) {
      expect(await arrives(huddle.alice.inbox, "huddle:participant:joined", { userId: user })).toMatchObject({ huddleId, userId: user, audio: true });
      expect(await arrives(huddle.alice.inbox, "participant_joined", { userId: user })).toMatchObject({ huddleId, userId: user });
    }
  });

  it("shows a mute, a camera, a screen share and a raised hand to the others in both vocabularies", async () => {
    expect(await pushTo(huddle.bob.channel, "huddle:toggle-audio", { enabled: false })).toEqual({ status: "ok", response: { huddleId } });
    const bobMuted = { huddleId, userId: "bob", audio: false, video: false, screen: false, handRaised: false };
    for (const user of ["alice", "carol"] as const) {
      expect(await arrives(huddle[user].inbox, "huddle:participant:updated", { userId: "bob", audio: false })).toEqual(bobMuted);
      expect(await arrives(huddle[user].inbox, "participant_muted", { userId: "bob", track: "audio" })).toEqual({ ...bobMuted, track: "audio" });
    }

    expect((await pushTo(huddle.alice.channel, "huddle:toggle-video", { enabled: true })).status).toBe("ok");
    expect(await arrives(huddle.bob.inbox, "huddle:participant:updated", { userId: "alice", video: true })).toMatchObject({ video: true, audio: true });
    expect(await arrives(huddle.bob.inbox, "participant_unmuted", { userId: "alice", track: "video" })).toMatchObject({ video: true });

    expect((await pushTo(huddle.bob.channel, "huddle:toggle-screen", { enabled: true })).status).toBe("ok");
    expect(await arrives(huddle.carol.inbox, "huddle:participant:updated", { userId: "bob", screen: true })).toMatchObject({ audio: false, screen: true });
    expect(await arrives(huddle.carol.inbox, "participant_unmuted", { userId: "bob", track: "screen" })).toMatchObject({ screen: true });
    // One screen at a time: carol's share stops bob's first.
    expect((await pushTo(huddle.carol.channel, "huddle:toggle-screen", { enabled: true })).status).toBe("ok");
    expect(await arrives(huddle.alice.inbox, "participant_muted", { userId: "bob", track: "screen" })).toMatchObject({ screen: false });
    expect(await arrives(huddle.alice.inbox, "participant_unmuted", { userId: "carol", track: "screen" })).toMatchObject({ screen: true });

    expect((await pushTo(huddle.carol.channel, "huddle:raise-hand", { raised: true })).status).toBe("ok");
    expect(await arrives(huddle.bob.inbox, "huddle:participant:updated", { userId: "carol", handRaised: true })).toMatchObject({ screen: true, video: true });
    expect(await arrives(huddle.bob.inbox, "participant_unmuted", { userId: "carol", track: "hand" })).toMatchObject({ handRaised: true });
  });

  it("answers malformed pushes with invalid, naming the field", async () => {
    expect(await pushTo(huddle.bob.channel, "huddle:toggle-audio", { enabled: "no" })).toEqual({ status: "error", response: { reason: "invalid", message: "enabled must be true or false" } });
    expect((await pushTo(huddle.bob.channel, "huddle:raise-hand", { raised: true, huddleId: "another" })).response).toMatchObject({ reason: "invalid" });
    expect((await pushTo(huddle.bob.channel, "huddle:fly", {})).response).toEqual({ reason: "unknown_event" });
  });

  it("refuses a non-member, a user of another workspace and an unknown huddle alike", async () => {
    expect(await joinReply(dave, `huddle:${huddleId}`)).toEqual({ status: "error", response: { reason: "unauthorized" } });
    expect(await joinReply(dave, "huddle:no-such-huddle")).toEqual({ status: "error", response: { reason: "unauthorized" } });
    const stranger = await connect("erin", "w2");
    expect(await joinReply(stranger, `huddle:${huddleId}`)).toEqual({ status: "error", response: { reason: "unauthorized" } });
    expect(received(huddle.alice.inbox, "participant_joined", { userId: "dave" })).toEqual([]);
  });

  it("lets an invitee in, until the huddle is full", async () => {
    expect(await pushTo(huddle.alice.channel, "huddle:invite", { userIds: ["dave"] })).toEqual({ status: "ok", response: { huddleId, invited: ["dave"] } });
    expect(await joinReply(dave, `huddle:${huddleId}`)).toMatchObject({ status: "error", response: { reason: "huddle_full" } });
  });

  it("ends the huddle when the last one leaves, and the conversation sees it end", async () => {
    expect(await pushTo(huddle.bob.channel, "huddle:leave", {})).toEqual({ status: "ok", response: { huddleId } });
    expect(await arrives(huddle.alice.inbox, "huddle:participant:left", { userId: "bob" })).toEqual({ huddleId, userId: "bob", reason: "left" });
    expect(await arrives(huddle.carol.inbox, "participant_left", { userId: "bob" })).toEqual({ huddleId, userId: "bob", reason: "left" });
    // Out of the huddle, bob's topic is closed: he sees nothing more of it.
    await eventually(async () => (huddle.bob.channel.state === "closed" ? true : undefined), 10_000, "bob's huddle topic closed");

    huddle.carol.channel.leave();
    expect(await arrives(huddle.alice.inbox, "participant_left", { userId: "carol" })).toEqual({ huddleId, userId: "carol", reason: "left" });
    huddle.alice.channel.leave();

    const ended = { huddleId, conversationId, reason: "empty", endedBy: null, durationMs: expect.any(Number) };
    for (const user of users) expect(await arrives(chat[user].inbox, "huddle:ended", { huddleId })).toEqual(ended);
    expect(await arrives(bobConversation.inbox, "huddle_ended", { huddleId })).toEqual(ended);
    expect(received(huddle.bob.inbox, "huddle:participant:left", { userId: "carol" })).toEqual([]);
    expect(await joinReply(socketOf.bob, `huddle:${huddleId}`)).toMatchObject({ status: "error", response: { reason: "conflict" } });
  });

  it("serves a huddle over REST to those it involves, and 404 to anyone else", async () => {
    const started = await api("alice", "POST", "/api/huddles", { conversationId, title: "Over REST" });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const restHuddle = String(started.body.huddleId);
    expect(await api("bob", "POST", "/api/huddles", { conversationId })).toEqual({ status: 200, body: { huddleId: restHuddle, created: false } });
    expect(await arrives(chat.carol.inbox, "huddle:started", { huddleId: restHuddle })).toMatchObject({ startedBy: "alice" });

    const live = await api("bob", "GET", `/api/conversations/${conversationId}/huddle`);
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ huddleId: restHuddle, title: "Over REST", status: "live", participants: [{ userId: "alice", audio: true, video: false }] });

    const joined = await api("bob", "POST", `/api/huddles/${restHuddle}/join`, { audio: false });
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    expect((joined.body.participants as Payload[]).map((p) => [p.userId, p.audio])).toEqual([
      ["alice", true],
      ["bob", false],
    ]);

    // Strangers: a non-member of the workspace, anyone of another workspace, an unknown huddle.
    for (const [user, workspace] of [["dave", "w1"], ["alice", "w2"]] as const) {
      expect((await api(user, "GET", `/api/huddles/${restHuddle}`, undefined, { workspace })).status).toBe(404);
      expect((await api(user, "POST", `/api/huddles/${restHuddle}/join`, {}, { workspace })).status).toBe(404);
      expect((await api(user, "GET", `/api/conversations/${conversationId}/huddle`, undefined, { workspace })).status).toBe(404);
    }
    expect((await api("bob", "GET", "/api/huddles/no-such-huddle")).status).toBe(404);

    // Measured from the read model: on /health and /metrics alike.
    const health = (await (await fetch(`${base}/health`)).json()) as { stats: Payload };
    expect(health.stats.active_huddles).toBe(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^huddles_active_total(\{[^}]*\})? 1$/m);
    expect(metrics).toMatch(/^huddle_participants_total(\{[^}]*\})? 2$/m);

    expect(await api("alice", "POST", `/api/huddles/${restHuddle}/invite`, { userIds: ["dave", "bob"] })).toEqual({ status: 200, body: { huddleId: restHuddle, invited: ["dave"] } });
    expect((await api("dave", "GET", `/api/huddles/${restHuddle}`)).body).toMatchObject({ invited: ["dave"] });

    expect(await api("bob", "POST", `/api/huddles/${restHuddle}/leave`)).toEqual({ status: 200, body: { huddleId: restHuddle } });
    expect(await api("alice", "POST", `/api/huddles/${restHuddle}/leave`)).toEqual({ status: 200, body: { huddleId: restHuddle } });
    expect(await arrives(chat.bob.inbox, "huddle:ended", { huddleId: restHuddle })).toMatchObject({ reason: "empty" });
    expect((await api("bob", "GET", `/api/huddles/${restHuddle}`)).body).toMatchObject({ status: "ended", endReason: "empty", participants: [] });
    expect((await api("bob", "GET", `/api/conversations/${conversationId}/huddle`)).status).toBe(404);
  });

  it("starts a standalone huddle with invitees of the caller's workspace only, and answers malformed requests 400", async () => {
    const standalone = await api("alice", "POST", "/api/huddles", { inviteeIds: ["dave"] });
    expect(standalone.status, JSON.stringify(standalone.body)).toBe(201);
    standaloneId = String(standalone.body.huddleId);
    expect((await api("dave", "GET", `/api/huddles/${String(standalone.body.huddleId)}`)).body).toMatchObject({ conversationId: null, createdBy: "alice", invited: ["dave"] });
    expect((await api("bob", "GET", `/api/huddles/${String(standalone.body.huddleId)}`)).status).toBe(404);

    expect((await api("alice", "POST", "/api/huddles", { inviteeIds: ["nobody-here"] })).status).toBe(404);
    expect((await api("alice", "POST", "/api/huddles", {})).body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/invite/) });
    expect((await api("alice", "POST", "/api/huddles", { inviteeIds: [""] })).status).toBe(400);
    expect((await api("alice", "POST", "/api/huddles", { title: { text: "x" }, inviteeIds: ["dave"] })).status).toBe(400);
    expect((await api("alice", "POST", "/api/huddles", undefined, { raw: "{not json" })).status).toBe(400);
    expect((await api("alice", "POST", `/api/huddles/${String(standalone.body.huddleId)}/invite`, { userIds: [] })).status).toBe(400);
    expect((await api("alice", "POST", `/api/huddles/${String(standalone.body.huddleId)}/join`, { audio: "maybe" })).status).toBe(400);
  });

  let standaloneId: string;

  it("moves a participant to the device that joins last, and lets only the creator end the huddle for everybody", async () => {
    const daveIn = await listen(dave, `huddle:${standaloneId}`, HUDDLE_EVENTS);
    // Alice, in it over REST without a connection, joins from her socket: she moves onto it.
    const aliceIn = await listen(socketOf.alice, `huddle:${standaloneId}`, HUDDLE_EVENTS);
    expect(await arrives(daveIn.inbox, "participant_left", { userId: "alice" })).toEqual({ huddleId: standaloneId, userId: "alice", reason: "moved" });
    expect(await arrives(daveIn.inbox, "huddle:participant:joined", { userId: "alice" })).toMatchObject({ audio: true });
    // Her second device takes her place: the first one's topic is closed.
    const aliceLaptop = await connect("alice");
    const laptopIn = await listen(aliceLaptop, `huddle:${standaloneId}`, HUDDLE_EVENTS);
    await eventually(async () => (aliceIn.channel.state === "closed" ? true : undefined), 10_000, "the first device's huddle topic closed");
    expect(received(daveIn.inbox, "participant_left", { userId: "alice", reason: "moved" })).toHaveLength(2);

    expect((await pushTo(daveIn.channel, "huddle:end", {})).response).toMatchObject({ reason: "forbidden" });
    expect(await pushTo(laptopIn.channel, "huddle:end", {})).toEqual({ status: "ok", response: { huddleId: standaloneId } });
    const ended = { huddleId: standaloneId, reason: "ended", endedBy: "alice", durationMs: expect.any(Number) };
    expect(await arrives(daveIn.inbox, "huddle:ended")).toEqual(ended);
    expect(await arrives(daveIn.inbox, "huddle_ended")).toEqual(ended);
    await eventually(async () => (daveIn.channel.state === "closed" ? true : undefined), 10_000, "dave's huddle topic closed at the end");
  });

  it("describes every huddle route in the OpenAPI document", async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, Payload>> };
    const described = Object.keys(document.paths).filter((path) => path.startsWith("/api/huddles") || path.endsWith("/huddle"));
    expect(described.sort()).toEqual(
      ["/api/huddles", "/api/huddles/{huddle_id}", "/api/huddles/{huddle_id}/invite", "/api/huddles/{huddle_id}/join", "/api/huddles/{huddle_id}/leave", "/api/conversations/{id}/huddle"].sort(),
    );
    const join = document.paths["/api/huddles/{huddle_id}/join"]?.post;
    expect(join?.parameters).toEqual([expect.objectContaining({ name: "huddle_id", in: "path", required: true })]);
    expect(Object.keys(document.paths["/api/huddles"]?.post?.responses as Payload)).toEqual(expect.arrayContaining(["200", "201", "400", "404"]));
  });
});
