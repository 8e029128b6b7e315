import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Presence, type Channel, type Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTO_LOADER_OPTIONS, REALTIME_PROTO } from "../../src/platform/gateway/server-api/grpc-server.js";
import { freePort, startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { tokenFor, tokenIssuedAgo } from "../support/tokens.js";

const API_KEY = "channels-test-key-0123456789";

type Unary = (request: Payload, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: Payload) => void) => void;

/**
 * Typed channels driven by a backend over gRPC (a real @grpc/grpc-js client) and over HTTP
 * (Centrifugo's shapes), received by the stock phoenix client, through one `quikchat start`.
 */
describe("channels and the server API, end to end", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((name) => `${name}-${run}`) as [string, string, string];
  let service: ServiceProcess;
  let base: string;
  let client: grpc.Client & Record<string, Unary>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const grpcPort = await freePort();
    ({ service, base } = await startService("channels", { SERVER_API_KEYS: `${API_KEY},another-key-0123456789`, GRPC_PORT: String(grpcPort) }));
    const definition = grpc.loadPackageDefinition(await protoLoader.load(REALTIME_PROTO, PROTO_LOADER_OPTIONS)) as unknown as {
      quikchat: { realtime: { v1: { RealtimeService: grpc.ServiceClientConstructor } } };
    };
    client = new definition.quikchat.realtime.v1.RealtimeService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  }, 150_000);

  afterAll(async () => {
    client?.close();
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  function rpc(method: string, request: Payload, key = API_KEY): Promise<Payload> {
    const metadata = new grpc.Metadata();
    metadata.set("x-api-key", key);
    return new Promise((resolve, reject) => client[method]!.call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response))));
  }

  async function api(method: string, params: Payload, key = API_KEY): Promise<{ status: number; body: Payload }> {
    const response = await fetch(`${base}/api/server/${method}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(params) });
    return { status: response.status, body: (await response.json()) as Payload };
  }

  async function connect(user: string, workspaceId = workspace): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user, workspaceId) });
    sockets.push(socket);
    return socket;
  }

  /** Joins `channel:{id}` as `user`; the channel, its join reply and the publications it receives. */
  async function join(user: string, id: string, params: Payload = {}, workspaceId = workspace) {
    const channel: Channel = (await connect(user, workspaceId)).channel(`channel:${id}`, params);
    const received: Payload[] = [];
    channel.on("publication", (payload: Payload) => void received.push(payload));
    const reply = await joinChannel(channel);
    return { channel, reply, received };
  }

  const refusal = (promise: Promise<unknown>) => promise.then(() => "joined", (error: Error) => (JSON.parse(error.message) as Payload).reason);

  it("a backend creates a TEAM channel over gRPC and publishes; its subscribers receive it and publish, a non-subscriber is refused", async () => {
    const created = await rpc("CreateChannel", { workspace_id: workspace, name: "Ops", type: "TEAM", subscribers: [alice, bob] });
    expect(created).toMatchObject({ workspace_id: workspace, name: "Ops", type: "TEAM", num_subscribers: 2 });
    const id = String(created.channel);
    const [a, b] = await Promise.all([join(alice, id), join(bob, id)]);
    expect(await refusal(join(carol, id))).toBe("unauthorized");

    const published = await rpc("Publish", { channel: id, data: JSON.stringify({ text: "deploy at 5" }) });
    expect(published.offset).toBe(1);
    await eventually(async () => (a.received.length === 1 && b.received.length === 1 ? true : undefined), 10_000, "both subscribers to receive");
    expect(b.received[0]).toMatchObject({ channel_id: id, seq: 1, data: { text: "deploy at 5" }, publisher_id: null });

    expect(await pushTo(a.channel, "publish", { data: { text: "on it" } })).toEqual({ status: "ok", response: { seq: 2 } });
    await eventually(async () => (b.received.length === 2 ? true : undefined), 10_000, "bob to receive alice's");
    expect(b.received[1]).toMatchObject({ seq: 2, data: { text: "on it" }, publisher_id: alice });

    // Unsubscribed over gRPC: bob's channel is closed and a new join refused.
    const closed = new Promise((resolve) => b.channel.onClose(resolve));
    await rpc("Unsubscribe", { channel: id, user: bob });
    await closed;
    expect(await refusal(join(bob, id))).toBe("unauthorized");
  });

  it("DisconnectUser over gRPC closes the user's sockets and refuses its old token; refresh over HTTP ends a connection when it says", async () => {
    /** A stock client of `user` that does not come back by itself during the test, joined to its user channel, with its first close code to come. */
    const connected = async (user: string, token: string) => {
      const socket = connectSocket(base, { token }, { reconnectAfterMs: () => 60_000 });
      sockets.push(socket);
      const closed = new Promise<number>((resolve) => socket.onClose((event: { code: number }) => resolve(event.code)));
      await joinChannel(socket.channel(`user:${user}`));
      return { closed };
    };
    const [dave, erin] = [`dave-${run}`, `erin-${run}`];
    const old = await tokenIssuedAgo(dave, workspace);
    const dave1 = await connected(dave, old);
    const disconnected = await rpc("DisconnectUser", { user: dave, workspace_id: workspace, revoke_tokens: true });
    expect(Number(disconnected.tokens_revoked_before)).toBeGreaterThan(Date.now() - 60_000);
    expect(await dave1.closed).toBe(4003);
    expect((await fetch(`${base}/api/conversations`, { headers: { authorization: `Bearer ${old}` } })).status).toBe(401);
    expect((await fetch(`${base}/api/conversations`, { headers: { authorization: `Bearer ${await tokenFor(dave, workspace)}` } })).status).toBe(200);

    const erin1 = await connected(erin, await tokenFor(erin, workspace));
    expect(await api("refresh", { user: erin, workspace_id: workspace, expire_at: Math.floor(Date.now() / 1000) })).toEqual({ status: 200, body: { result: {} } });
    expect(await erin1.closed).toBe(4001);
    expect((await api("disconnect", { user: erin, revoke_tokens: "yes" })).status).toBe(400);
  });

  it("a SYSTEM publication reaches every user of the workspace, and nobody outside; clients cannot publish there", async () => {
    const { status, body } = await api("create_channel", { workspace_id: workspace, name: "Announcements", type: "SYSTEM" });
    expect(status).toBe(200);
    const id = String((body.result as Payload).channel);
    const c = await join(carol, id);
    expect(await refusal(join(carol, id, {}, `other-${run}`))).toBe("unauthorized");

    expect((await api("publish", { channel: id, data: { notice: "maintenance" } })).body).toEqual({ result: { offset: 1, epoch: expect.any(String) } });
    await eventually(async () => (c.received.length === 1 ? true : undefined), 10_000, "carol to receive the announcement");
    expect(c.received[0]).toMatchObject({ seq: 1, data: { notice: "maintenance" } });
    expect(await pushTo(c.channel, "publish", { data: { notice: "hijack" } })).toMatchObject({ status: "error", response: { reason: "forbidden" } });
  });

  it("maxSubscribers refuses the join past it, and takes one again after a leave", async () => {
    const created = await rpc("CreateChannel", { workspace_id: workspace, name: "Small", type: "SYSTEM", settings: { max_subscribers: 1 } });
    const id = String(created.channel);
    const first = await join(alice, id);
    expect(await refusal(join(bob, id))).toBe("channel_full");
    await new Promise((resolve) => first.channel.leave().receive("ok", resolve));
    await join(bob, id);
    // Raised over HTTP: the next join is admitted.
    expect((await api("update_channel", { channel: id, settings: { max_subscribers: 2 } })).body).toMatchObject({ result: { settings: { max_subscribers: 2, history_enabled: false } } });
    await join(carol, id);
    expect(await refusal(join(alice, id))).toBe("channel_full");
  });

  it("shows a PRESENCE channel's subscribers to each other with the stock Presence class, and nobody else", async () => {
    const created = await rpc("CreateChannel", { workspace_id: workspace, name: "Desk", type: "PRESENCE", subscribers: [alice, bob] });
    const id = String(created.channel);
    // Carol is online in the workspace (her sockets of the tests above) but not subscribed.
    const channel = (await connect(alice)).channel(`channel:${id}`);
    const presence = new Presence(channel);
    await joinChannel(channel);
    await eventually(async () => {
      const users = new Set(presence.list((userId: string) => userId));
      return users.has(alice) && users.has(bob) ? users : undefined;
    }, 10_000, "alice and bob in the channel's presence");
    expect(new Set(presence.list((userId: string) => userId))).not.toContain(carol);
    expect((await api("presence_stats", { channel: id })).body).toMatchObject({ result: { num_users: 2 } });
  });

  it("a join with last_seq recovers what was missed from history", async () => {
    const created = await rpc("CreateChannel", { workspace_id: workspace, name: "Log", type: "PRIVATE", subscribers: [alice], settings: { history_enabled: true, history_ttl_seconds: 600 } });
    const id = String(created.channel);
    for (const n of [1, 2, 3]) await rpc("Publish", { channel: id, data: JSON.stringify({ n }) });
    const history = await eventually(async () => {
      const { body } = await api("history", { channel: id });
      const result = body.result as { publications: Payload[] };
      return result.publications.length === 3 ? result : undefined;
    }, 10_000, "history to hold three publications");
    expect(history).toMatchObject({ offset: 3, publications: [{ offset: 1, data: { n: 1 } }, { offset: 2, data: { n: 2 } }, { offset: 3, data: { n: 3 } }] });
    expect(await rpc("GetHistory", { channel: id, since_offset: 2 })).toMatchObject({ offset: 3, publications: [{ offset: 3, data: '{"n":3}' }] });

    const { reply } = await join(alice, id, { last_seq: 1 });
    expect(reply).toMatchObject({ recovered: true, last_seq: 3, publications: [{ seq: 2, data: { n: 2 } }, { seq: 3, data: { n: 3 } }] });

    await api("history_remove", { channel: id });
    await eventually(async () => (((await api("history", { channel: id })).body.result as { publications: unknown[] }).publications.length === 0 ? true : undefined), 10_000, "history to be removed");
  });

  it("answers over HTTP in Centrifugo's shapes: idempotent publish, batch, broadcast, list, errors", async () => {
    const team = String(((await api("create_channel", { workspace_id: workspace, name: "A", type: "TEAM", subscribers: [alice], settings: { presence_enabled: true } })).body.result as Payload).channel);
    const other = String(((await api("create_channel", { workspace_id: workspace, name: "B", type: "TEAM" })).body.result as Payload).channel);

    const once = await api("publish", { channel: team, data: { x: 1 }, idempotency_key: "k-1" });
    const again = await api("publish", { channel: team, data: { x: 1 }, idempotency_key: "k-1" });
    expect(again.body).toEqual(once.body);

    expect((await api("broadcast", { channels: [team, other, "missing"], data: { x: 2 } })).body).toEqual({
      result: { responses: [{ result: { offset: 2, epoch: expect.any(String) } }, { result: { offset: 1, epoch: expect.any(String) } }, { error: expect.objectContaining({ reason: "not_found" }) }] },
    });
    expect((await api("batch", { commands: [{ publish: { channel: other, data: { x: 3 } } }, { subscribe: { channel: "missing", user: bob } }, { nope: {} }] })).body).toEqual({
      replies: [{ publish: { offset: 2, epoch: expect.any(String) } }, { error: expect.objectContaining({ reason: "not_found" }) }, { error: expect.objectContaining({ reason: "invalid" }) }],
    });
    expect((await api("publish", { channel: "missing", data: {} })).body).toEqual({ error: { code: 404, reason: "not_found", message: "no such channel" } });
    const invalid = await api("create_channel", { workspace_id: workspace, name: "X", type: "BOGUS" });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: { reason: "invalid" } });

    const page = (await api("list_channels", { workspace_id: workspace, limit: 2 })).body.result as { channels: Payload[]; next_cursor: string };
    expect(page.channels).toHaveLength(2);
    const rest = (await api("list_channels", { workspace_id: workspace, limit: 100, cursor: page.next_cursor })).body.result as { channels: Payload[]; next_cursor: string };
    expect(rest.next_cursor).toBe("");
    expect(new Set([...page.channels, ...rest.channels].map((channel) => channel.channel))).toContain(team);
    expect((await rpc("ListChannels", { workspace_id: `nobody-${run}` })).channels ?? []).toEqual([]);

    // Presence of the channel's subscribers: alice is connected (her earlier sockets).
    const stats = await eventually(async () => {
      const { body } = await api("presence_stats", { channel: team });
      return (body.result as { num_users: number }).num_users === 1 ? body.result : undefined;
    }, 10_000, "alice's presence");
    expect(stats).toMatchObject({ num_users: 1 });
    expect((await api("presence_stats", { channel: other })).body).toMatchObject({ error: { reason: "not_available" } });
  });

  it("publishes a system message into a conversation, once per idempotency key", async () => {
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${await tokenFor(alice, workspace)}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: [bob], name: "Pair" }),
    });
    const conversationId = ((await created.json()) as { id: string }).id;
    const chat = (await connect(bob)).channel(`chat:${conversationId}`);
    const messages: Payload[] = [];
    chat.on("message:new", (message: Payload) => void messages.push(message));
    await joinChannel(chat);

    const first = await api("publish", { channel: `chat:${conversationId}`, data: { content: "maintenance at 5" }, idempotency_key: "m-1" });
    expect(first.body).toEqual({ result: { offset: 1, epoch: expect.any(String) } });
    expect((await rpc("Publish", { channel: `conversation:${conversationId}`, data: JSON.stringify("maintenance at 5"), idempotency_key: "m-1" })).offset).toBe(1);
    await eventually(async () => (messages.length === 1 ? true : undefined), 10_000, "bob to receive the system message");
    expect(messages[0]).toMatchObject({ seq: 1, type: "system", content: "maintenance at 5", senderId: "system:server-api" });
    expect((await api("publish", { channel: `chat:${conversationId}`, data: { text: 1 } })).body).toMatchObject({ error: { reason: "invalid" } });
    expect((await api("publish", { channel: "chat:nope", data: "x" })).body).toMatchObject({ error: { reason: "not_found" } });
  });

  it("refuses a wrong API key on both transports", async () => {
    const http = await api("list_channels", { workspace_id: workspace }, "wrong-key-0123456789");
    expect(http.status).toBe(401);
    expect(http.body).toMatchObject({ error: { reason: "unauthorized" } });
    const response = await fetch(`${base}/api/server/list_channels`, { method: "POST", headers: { authorization: "apikey another-key-0123456789", "content-type": "application/json" }, body: JSON.stringify({ workspace_id: workspace }) });
    expect(response.status).toBe(200);
    await expect(rpc("ListChannels", { workspace_id: workspace }, "wrong-key-0123456789")).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(rpc("Publish", { channel: "missing", data: "{}" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("counts the server API's calls by method and outcome, whichever transport carried them, on /metrics", async () => {
    const count = (metrics: string, method: string, outcome: string) =>
      Number(new RegExp(`^quikchat_server_api_call_seconds_count\\{[^}]*method="${method}"[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(count(metrics, "list_channels", "unauthorized")).toBeGreaterThanOrEqual(2);
    expect(count(metrics, "publish", "not_found")).toBeGreaterThanOrEqual(2);
    expect(count(metrics, "create_channel", "invalid")).toBeGreaterThanOrEqual(1);
    expect(count(metrics, "publish", "ok")).toBeGreaterThanOrEqual(3);
  });
});
