import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

interface Listed {
  id: string;
  title: string | null;
  lastSeq: number;
  readSeq: number;
  unreadCount: number;
  lastActivityAt: number;
  lastMessage: Payload | null;
}

/**
 * What a chat client expects of the REST API on day one, through a real `quikchat start` and the
 * stock phoenix client: its conversations newest first with their last message and unread count,
 * one direct conversation per pair, sends over HTTP with the socket's rules and idempotency.
 */
describe("conversations a client lists and writes to, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("day-one"));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function api(method: string, path: string, user: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await tokenFor(user)}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Payload };
  }

  async function connect(user: string): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user) });
    sockets.push(socket);
    return socket;
  }

  const create = async (user: string, body: Payload): Promise<string> => {
    const created = await api("POST", "/api/conversations", user, body);
    expect(created.status).toBe(201);
    return String(created.body.id);
  };

  const list = async (user: string, query = ""): Promise<{ conversations: Listed[]; nextCursor: string | null }> => {
    const answer = await api("GET", `/api/conversations${query}`, user);
    expect(answer.status).toBe(200);
    return answer.body as unknown as { conversations: Listed[]; nextCursor: string | null };
  };

  it("keeps one direct conversation per pair: creating it again, by either of the two, answers the same one", async () => {
    const first = await api("POST", "/api/conversations", "alice", { type: "direct", members: ["bob"] });
    expect(first.status).toBe(201);
    const again = await api("POST", "/api/conversations", "alice", { type: "direct", members: ["bob"] });
    expect(again).toEqual({ status: 200, body: first.body });
    const fromBob = await api("POST", "/api/conversations", "bob", { type: "direct", members: ["alice"] });
    expect(fromBob).toEqual({ status: 200, body: first.body });

    const withCarol = await api("POST", "/api/conversations", "alice", { type: "direct", members: ["carol"] });
    expect(withCarol.status).toBe(201);
    expect(withCarol.body.id).not.toBe(first.body.id);
    const group = await create("alice", { type: "group", members: ["bob"] });
    expect(await create("alice", { type: "group", members: ["bob"] })).not.toBe(group);
  });

  it("takes a conversation's title as title or name, and answers both", async () => {
    const named = await api("POST", "/api/conversations", "alice", { type: "group", members: ["bob"], name: "Team" });
    expect(named.body).toMatchObject({ title: "Team", name: "Team" });
    const titled = await api("POST", "/api/conversations", "alice", { type: "group", members: ["bob"], title: "Ops" });
    expect(titled.body).toMatchObject({ title: "Ops", name: "Ops" });
    expect((await api("GET", `/api/conversations/${String(titled.body.id)}`, "bob")).body).toMatchObject({ title: "Ops", name: "Ops" });
    const both = await api("POST", "/api/conversations", "alice", { type: "group", members: ["bob"], title: "Ops", name: "Dev" });
    expect(both.status).toBe(400);
  });

  it("sends over REST with the rules and the idempotency of message:send", async () => {
    const conversationId = await create("alice", { type: "group", members: ["bob"], name: "Sends" });
    const bobChannel = (await connect("bob")).channel(`chat:${conversationId}`);
    const delivered: Payload[] = [];
    bobChannel.on("message:new", (payload: Payload) => void delivered.push(payload));
    await joinChannel(bobChannel);
    const send = (body: Payload, headers?: Record<string, string>) => api("POST", `/api/conversations/${conversationId}/messages`, "alice", body, headers);

    const sent = await send({ content: "hello over http", clientMsgId: "r-1" });
    expect(sent).toEqual({ status: 201, body: { id: expect.any(String), seq: 1, sentAt: expect.any(Number) } });
    expect(await send({ content: "hello over http", clientMsgId: "r-1" })).toEqual(sent);

    const keyed = await send({ content: "with a key" }, { "idempotency-key": "k-1" });
    expect(keyed).toMatchObject({ status: 201, body: { seq: 2 } });
    expect(await send({ content: "with a key" }, { "idempotency-key": "k-1" })).toEqual(keyed);

    // The socket derives the same command from the same clientMsgId: a retry over either is one message.
    const aliceChannel = (await connect("alice")).channel(`chat:${conversationId}`);
    await joinChannel(aliceChannel);
    expect(await pushTo(aliceChannel, "message:send", { content: "hello over http", clientMsgId: "r-1" })).toEqual({ status: "ok", response: sent.body });

    const blank = await send({ content: "   " });
    expect(blank).toMatchObject({ status: 400, body: { message: "a text message may not be empty" } });
    expect(await pushTo(aliceChannel, "message:send", { content: "   " })).toMatchObject({ status: "error", response: { reason: "invalid", message: "a text message may not be empty" } });
    expect((await send({ content: "x", clientMsgId: "a" }, { "idempotency-key": "b" })).status).toBe(400);
    expect((await api("POST", `/api/conversations/${conversationId}/messages`, "carol", { content: "let me in" })).status).toBe(404);

    await eventually(async () => (delivered.length >= 2 ? true : undefined), 15_000, "both sends at bob's socket");
    expect(delivered.map((message) => [message.seq, message.content, message.senderId])).toEqual([
      [1, "hello over http", "alice"],
      [2, "with a key", "alice"],
    ]);
  });

  it("lists the caller's conversations newest activity first, with the last message and the unread count, page by page", async () => {
    const quiet = await create("dora", { type: "group", members: ["erin"], name: "Quiet" });
    const busy = await create("dora", { type: "group", members: ["erin"], name: "Busy" });
    const latest = await create("dora", { type: "direct", members: ["erin"] });
    for (const content of ["one", "two", "three"]) {
      expect((await api("POST", `/api/conversations/${busy}/messages`, "erin", { content })).status).toBe(201);
    }
    expect((await api("POST", `/api/conversations/${latest}/messages`, "dora", { content: "mine" })).status).toBe(201);

    const first = await eventually(async () => {
      const page = await list("dora", "?limit=2");
      return page.conversations[0]?.lastSeq === 1 && page.conversations[1]?.lastSeq === 3 ? page : undefined;
    }, 15_000, "both sends in dora's list");
    expect(first.conversations.map((c) => c.id)).toEqual([latest, busy]);
    expect(first.conversations[0]).toMatchObject({ lastSeq: 1, readSeq: 1, unreadCount: 0, lastMessage: { content: "mine", senderId: "dora" } });
    expect(first.conversations[1]).toMatchObject({ title: "Busy", lastSeq: 3, readSeq: 0, unreadCount: 3, lastMessage: { seq: 3, content: "three" } });
    expect(first.nextCursor).toEqual(expect.any(String));

    const second = await list("dora", `?limit=2&cursor=${first.nextCursor!}`);
    expect(second.conversations.map((c) => c.id)).toEqual([quiet]);
    expect(second.conversations[0]).toMatchObject({ lastSeq: 0, readSeq: 0, unreadCount: 0, lastMessage: null });
    expect(second.nextCursor).toBeNull();
    expect((await list("erin")).conversations.find((c) => c.id === busy)).toMatchObject({ readSeq: 3, unreadCount: 0 });
    expect((await api("GET", "/api/conversations?cursor=not-a-cursor", "dora")).status).toBe(400);

    // Reading on the socket moves the read position, which the list and the conversation show.
    const channel = (await connect("dora")).channel(`chat:${busy}`);
    await joinChannel(channel);
    expect(await pushTo(channel, "message:read", { seq: 2 })).toMatchObject({ status: "ok" });
    const read = await eventually(async () => {
      const { body } = await api("GET", `/api/conversations/${busy}`, "dora");
      return body.readSeq === 2 ? body : undefined;
    }, 15_000, "dora's read position");
    expect(read).toMatchObject({ lastSeq: 3, readSeq: 2, unreadCount: 1 });
    expect((await list("dora")).conversations.find((c) => c.id === busy)).toMatchObject({ unreadCount: 1 });
  });
});
