import { randomBytes } from "node:crypto";
import { Presence, type Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { tokenFor } from "../support/tokens.js";

/** How long a socket closed for an expired token keeps its presence (the service's PRESENCE_RECONNECT_GRACE_MS). */
const GRACE_MS = 3_000;

interface Meta {
  phx_ref: string;
  device: string | null;
  platform: string;
  status: string;
  online_at: number;
}

/**
 * Presence and typing through the whole loop with the stock phoenix client and its Presence
 * class: socket open → ConnectClient → presence processor → events → presence projection
 * (Redis) → presence_diff on `presence:<workspace>`; typing → typing processor (with its
 * expiry timer) → typing projection → `typing` on the conversation's channels.
 */
describe("presence and typing, end to end", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((name) => `${name}-${run}`) as [string, string, string];
  let service: ServiceProcess;
  let base: string;
  let conversationId: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("presence", {
      PRESENCE_DIFF_INTERVAL_MS: "50",
      TYPING_TIMEOUT_MS: "1500",
      TYPING_COALESCE_MS: "500",
      // Low enough that charging coalesced starts would lock a typist out within one test.
      RATE_LIMIT_TYPING_PER_MIN: "4",
      PRESENCE_RECONNECT_GRACE_MS: String(GRACE_MS),
    }));
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${await tokenFor(alice, workspace)}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: [bob], name: "Pair" }),
    });
    conversationId = ((await created.json()) as { id: string }).id;
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function connect(user: string, params: Payload = {}): Promise<Socket> {
    const token = await tokenFor(user, workspace);
    const socket = connectSocket(base, { token, ...params });
    sockets.push(socket);
    return socket;
  }

  const join = joinChannel;
  const push = pushTo;

  const get = async (path: string, as: string) => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${await tokenFor(as, workspace)}` } });
    return { status: response.status, body: (await response.json()) as Payload };
  };

  /** A `presence:<workspace>` watcher: the stock Presence class, and the users/metas it lists after each sync. */
  async function watch(user: string) {
    const channel = (await connect(user)).channel(`presence:${workspace}`);
    const presence = new Presence(channel);
    const listed = () => new Map(presence.list((id: string, { metas }: { metas: Meta[] }) => [id, metas] as const));
    await join(channel);
    return { channel, presence, listed };
  }

  const metasOf = async (watcher: Awaited<ReturnType<typeof watch>>, user: string, count: number, what: string) =>
    eventually(async () => {
      const metas = watcher.listed().get(user) ?? [];
      return metas.length === count ? metas : undefined;
    }, 15_000, what);

  it("shows each device as a meta, keeps a user online while one device remains, and drops them after the last", async () => {
    const watcher = await watch(carol);
    await metasOf(watcher, carol, 1, "the watcher itself in the presence list");

    const phone = await connect(alice, { device_id: "phone-1", platform: "ios" });
    const [first] = await metasOf(watcher, alice, 1, "alice's first device");
    expect(first).toMatchObject({ device: "phone-1", platform: "ios", status: "online", online_at: expect.any(Number), phx_ref: expect.any(String) });

    const laptop = await connect(alice, { platform: "desktop" });
    const both = await metasOf(watcher, alice, 2, "alice's second device");
    expect(both.map((meta) => meta.platform).sort()).toEqual(["desktop", "ios"]);

    phone.disconnect();
    const [remaining] = await metasOf(watcher, alice, 1, "alice with one device left");
    expect(remaining?.platform).toBe("desktop");
    expect((await get(`/api/presence/${alice}`, carol)).body).toMatchObject({ user_id: alice, workspace_id: workspace, status: "online", device_count: 1 });

    laptop.disconnect();
    await eventually(async () => (watcher.listed().has(alice) ? undefined : true), 15_000, "alice gone from the list");
    const offline = await get(`/api/presence/${alice}`, carol);
    expect(offline.body).toMatchObject({ status: "offline", device_count: 0, last_seen: expect.any(Number) });
  });

  it("replaces a meta on a status change, and tells the user's own channel", async () => {
    const watcher = await watch(`${carol}-2`);
    const socket = await connect(bob);
    const own = socket.channel(`user:${bob}`);
    const updates: Payload[] = [];
    own.on("presence_update", (payload: Payload) => void updates.push(payload));
    await join(own);
    await metasOf(watcher, bob, 1, "bob online");
    const presenceChannel = socket.channel(`presence:${workspace}`);
    await join(presenceChannel);

    expect(await push(presenceChannel, "set_status", { status: "dnd", status_text: "focus" })).toMatchObject({ status: "ok" });
    await eventually(async () => ((watcher.listed().get(bob) ?? [])[0]?.status === "dnd" ? true : undefined), 15_000, "bob's meta in dnd");
    expect(watcher.listed().get(bob)).toHaveLength(1);
    await eventually(async () => (updates.some((u) => u.status === "dnd" && u.status_text === "focus") ? true : undefined), 15_000, "presence_update dnd");

    expect(await push(own, "set_status", { status: "offline" })).toMatchObject({ status: "ok" });
    await eventually(async () => (watcher.listed().has(bob) ? undefined : true), 15_000, "bob appearing offline");
    const online = await get("/api/presence/online", carol);
    expect((online.body.users as { user_id: string }[]).map((u) => u.user_id)).not.toContain(bob);
    expect(await push(own, "set_status", { status: "bogus" })).toMatchObject({ status: "error", response: { reason: "invalid" } });
    await push(own, "set_status", { status: "online" });
    await metasOf(watcher, bob, 1, "bob visible again");
  });

  it("tells conversation members when a member comes online and goes offline", async () => {
    const bobChat = (await connect(bob)).channel(`chat:${conversationId}`);
    const seen: { event: string; payload: Payload }[] = [];
    for (const event of ["user:online", "user:offline"]) bobChat.on(event, (payload: Payload) => void seen.push({ event, payload }));
    await join(bobChat);
    const socket = await connect(alice);
    await eventually(async () => seen.find((s) => s.event === "user:online" && s.payload.userId === alice), 15_000, "user:online");
    socket.disconnect();
    await eventually(async () => seen.find((s) => s.event === "user:offline" && s.payload.userId === alice), 15_000, "user:offline");
  });

  it("shows typing to the other members, and expires it without a stop", async () => {
    const aliceChat = (await connect(alice)).channel(`chat:${conversationId}`);
    const bobChat = (await connect(bob)).channel(`conversation:${conversationId}`);
    const toAlice: Payload[] = [];
    const toBob: { at: number; payload: Payload }[] = [];
    aliceChat.on("typing", (payload: Payload) => void toAlice.push(payload));
    bobChat.on("typing", (payload: Payload) => void toBob.push({ at: Date.now(), payload }));
    await join(aliceChat);
    await join(bobChat);

    const started = Date.now();
    expect(await push(aliceChat, "typing:start", {})).toMatchObject({ status: "ok" });
    expect(await push(aliceChat, "typing:start", {})).toMatchObject({ status: "ok", response: { coalesced: true } });
    await eventually(async () => toBob.find((t) => t.payload.typing === true && t.payload.userId === alice), 15_000, "typing true at bob");
    const typing = await get(`/api/presence/typing/${conversationId}`, bob);
    expect(typing.body.users).toEqual([{ user_id: alice, expires_at: expect.any(Number) }]);
    expect((await get(`/api/presence/typing/${conversationId}`, carol)).status).toBe(404);

    const stopped = await eventually(async () => toBob.find((t) => t.payload.typing === false), 15_000, "typing expired at bob");
    // The 1.5 s timeout, not a stop: nobody sent one.
    expect(stopped.at - started).toBeGreaterThanOrEqual(1_400);
    expect(toBob.filter((t) => t.payload.typing === true)).toHaveLength(1);
    expect(toAlice).toEqual([]);

    // seed 000's form on conversation: topics, with an explicit stop.
    expect(await push(bobChat, "typing", { typing: true })).toMatchObject({ status: "ok" });
    expect(await push(bobChat, "typing", { typing: false })).toMatchObject({ status: "ok" });
    expect(await push(bobChat, "typing", { typing: "yes" })).toMatchObject({ status: "error", response: { reason: "invalid" } });
  });

  it("charges only the typing starts it forwards: a start per keystroke is never locked out", async () => {
    const chat = (await connect(alice)).channel(`chat:${conversationId}`);
    await join(chat);
    const answers = [];
    for (let keystroke = 0; keystroke < 12; keystroke++) answers.push(await push(chat, "typing:start", {}));
    expect(answers.filter((answer) => answer.status !== "ok")).toEqual([]);
    expect(answers.filter((answer) => answer.response.coalesced === true).length).toBeGreaterThanOrEqual(10);
  });

  /** A watcher's user-level view of `user`: each time the user appeared (a join with no presence before) and disappeared (a leave with no meta left). */
  async function watchUser(watcherUser: string, user: string) {
    const watcher = await watch(watcherUser);
    const seen: { what: "appeared" | "disappeared"; at: number }[] = [];
    watcher.presence.onJoin((id, current) => {
      if (id === user && current === undefined) seen.push({ what: "appeared", at: Date.now() });
    });
    watcher.presence.onLeave((id, current: { metas: unknown[] }) => {
      if (id === user && current.metas.length === 0) seen.push({ what: "disappeared", at: Date.now() });
    });
    return { ...watcher, seen };
  }

  /**
   * A socket of `user` whose first token expires within two seconds; `later` is what `params`
   * returns after it. It reconnects a second after a close, as a client fetching a fresh token
   * might: long after the close went through the log on its own.
   */
  async function connectExpiring(user: string, later: () => string) {
    const expiring = await tokenFor(user, workspace, 2);
    let connects = 0;
    const socket = connectSocket(base, () => ({ token: connects++ === 0 ? expiring : later() }), { reconnectAfterMs: () => 1_000 });
    sockets.push(socket);
    const closes: { code: number; at: number }[] = [];
    socket.onClose((event: { code: number }) => void closes.push({ code: event.code, at: Date.now() }));
    return { socket, closes, connects: () => connects };
  }

  it("shows no leave and no join when a socket closed for its expired token reconnects with a fresh one", async () => {
    const user = `frank-${run}`;
    const watcher = await watchUser(`${carol}-3`, user);
    const fresh = await tokenFor(user, workspace);
    const { closes, connects } = await connectExpiring(user, () => fresh);
    const [first] = await metasOf(watcher, user, 1, "frank online");

    await eventually(async () => (closes.some((close) => close.code === 4001) && connects() >= 2 ? true : undefined), 10_000, "the 4001 close and the reconnect");
    const [second] = await eventually(async () => {
      const metas = watcher.listed().get(user) ?? [];
      return metas.length === 1 && metas[0]!.phx_ref !== first!.phx_ref ? metas : undefined;
    }, 10_000, "the new connection's meta in place of the old one");
    expect(second?.online_at).toBeGreaterThan(first!.online_at);
    // Past the grace: nothing was left to expire.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
    expect(watcher.seen.map((event) => event.what)).toEqual(["appeared"]);
    expect(watcher.listed().get(user)).toHaveLength(1);
  });

  it("shows the leave once the grace has passed when a socket closed for its expired token does not come back", async () => {
    const user = `gina-${run}`;
    const watcher = await watchUser(`${carol}-4`, user);
    const expired = await tokenFor(user, workspace, -60);
    const { socket, closes } = await connectExpiring(user, () => expired);
    await metasOf(watcher, user, 1, "gina online");

    const gone = await eventually(async () => watcher.seen.find((event) => event.what === "disappeared"), 15_000, "gina's leave");
    socket.disconnect();
    const closed = closes.find((close) => close.code === 4001);
    expect(closed).toBeDefined();
    // The timer fires at the end of the grace, counted from the gateway's close (a few ms before the client saw it).
    expect(gone.at - closed!.at).toBeGreaterThanOrEqual(GRACE_MS - 200);
    expect(watcher.seen.map((event) => event.what)).toEqual(["appeared", "disappeared"]);
  });

  it("keeps presence to the caller's workspace", async () => {
    const outsider = await fetch(`${base}/api/presence/${alice}`, { headers: { authorization: `Bearer ${await tokenFor("mallory", "other")}` } });
    expect(outsider.status).toBe(404);
    const socket = connectSocket(base, { token: await tokenFor("mallory", "other") });
    sockets.push(socket);
    await expect(join(socket.channel(`presence:${workspace}`))).rejects.toThrow(/unauthorized/);
  });
});
