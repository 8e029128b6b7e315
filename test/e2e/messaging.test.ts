import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/test-config.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { tokenFor } from "../support/tokens.js";

/**
 * Two members chat through the whole loop with the stock phoenix client: push → command on
 * Kafka → processor (seq) → event → history projection → delta → every joined socket.
 */
describe("messaging, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  let conversationId: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("messaging"));
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${await tokenFor("alice")}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: ["bob"], name: "Pair" }),
    });
    conversationId = ((await created.json()) as { id: string }).id;
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function connect(user: string): Promise<Socket> {
    const token = await tokenFor(user);
    const socket = connectSocket(base, { token });
    sockets.push(socket);
    return socket;
  }

  /** A joined channel that records what it receives, by event. */
  async function joined(socket: Socket, topic: string, params: Payload = {}) {
    const channel = socket.channel(topic, params);
    const received: { event: string; payload: Payload }[] = [];
    for (const event of ["message:new", "message:edited", "message:deleted", "message:reaction:added", "message:reaction:removed", "message:read", "new_message"]) {
      channel.on(event, (payload: Payload) => void received.push({ event, payload }));
    }
    const reply = await joinChannel(channel);
    return { channel, received, reply };
  }

  const push = pushTo;

  const of = (received: { event: string; payload: Payload }[], event: string) => received.filter((r) => r.event === event).map((r) => r.payload);

  it("delivers a sent message to every member with its seq, and answers the sender", async () => {
    const alice = await joined(await connect("alice"), `chat:${conversationId}`);
    const bob = await joined(await connect("bob"), `conversation:${conversationId}`);
    const reply = await push(alice.channel, "message:send", { type: "text", content: "hello bob", clientMsgId: "a-1" });
    expect(reply).toMatchObject({ status: "ok", response: { id: expect.any(String), seq: 1, sentAt: expect.any(Number) } });

    const delivered = await eventually(async () => of(bob.received, "new_message")[0], 15_000, "bob's new_message");
    expect(delivered).toMatchObject({
      id: reply.response.id,
      conversationId,
      seq: 1,
      senderId: "alice",
      type: "text",
      content: "hello bob",
      clientMsgId: "a-1",
      sentAt: reply.response.sentAt,
    });
    await eventually(async () => of(alice.received, "message:new")[0], 15_000, "alice's own message:new");
  });

  it("does not duplicate a send retried with the same clientMsgId", async () => {
    const alice = await joined(await connect("alice"), `chat:${conversationId}`);
    const first = await push(alice.channel, "message:send", { content: "only once", clientMsgId: "retry-1" });
    const again = await push(alice.channel, "message:send", { content: "only once", clientMsgId: "retry-1" });
    expect(again).toEqual(first);
    // History is written by the projection just after the reply: read it once it has caught up.
    const bobToken = `Bearer ${await tokenFor("bob")}`;
    const messages = await eventually(async () => {
      const page = await fetch(`${base}/api/conversations/${conversationId}/messages?after_seq=0&limit=50`, { headers: { authorization: bobToken } });
      const { messages: found } = (await page.json()) as { messages: { seq: number; content: string }[] };
      return found.some((m) => m.seq === again.response.seq) ? found : undefined;
    }, 15_000, "the message in history");
    expect(messages.filter((m) => m.content === "only once")).toHaveLength(1);
  });

  it("edits, reacts, deletes and reads, and members see each change", async () => {
    const alice = await joined(await connect("alice"), `chat:${conversationId}`);
    const bob = await joined(await connect("bob"), `chat:${conversationId}`);
    const sent = await push(alice.channel, "message:send", { content: "typo hre", clientMsgId: "edit-me" });
    const messageId = String(sent.response.id);
    const seq = Number(sent.response.seq);

    expect((await push(alice.channel, "message:edit", { messageId, content: "typo here" })).status).toBe("ok");
    expect((await push(bob.channel, "message:edit", { messageId, content: "not mine" })).response).toMatchObject({ reason: "forbidden" });
    expect((await push(bob.channel, "message:reaction:add", { messageId, emoji: "👍" })).status).toBe("ok");
    expect((await push(bob.channel, "message:read", { seq })).status).toBe("ok");
    expect((await push(alice.channel, "message:delete", { messageId })).status).toBe("ok");

    await eventually(async () => of(bob.received, "message:deleted")[0], 15_000, "the deletion");
    expect(of(bob.received, "message:edited")).toContainEqual(expect.objectContaining({ messageId, content: "typo here", revision: 1 }));
    expect(of(alice.received, "message:reaction:added")).toContainEqual(expect.objectContaining({ messageId, userId: "bob", emoji: "👍" }));
    expect(of(alice.received, "message:read")).toContainEqual(expect.objectContaining({ userId: "bob", seq }));
    expect(of(bob.received, "message:deleted")).toContainEqual(expect.objectContaining({ messageId, seq }));
  });

  it("a member who was offline for five messages rejoins with last_seq and gets exactly those five, in order", async () => {
    const alice = await joined(await connect("alice"), `chat:${conversationId}`);
    const before = await push(alice.channel, "message:send", { content: "before the gap" });
    const lastSeen = Number(before.response.seq);
    const sentSeqs: number[] = [];
    for (let i = 1; i <= 5; i += 1) sentSeqs.push(Number((await push(alice.channel, "message:send", { content: `missed ${i}` })).response.seq));

    const bob = await joined(await connect("bob"), `chat:${conversationId}`, { last_seq: lastSeen });
    expect(bob.reply.recovered).toBe(true);
    const next = await push(alice.channel, "message:send", { content: "after the gap" });
    await eventually(async () => of(bob.received, "message:new").find((m) => m.seq === next.response.seq), 15_000, "the next live message");

    // The join reply carries what history held at that moment; anything the projection wrote
    // later arrives live. Together: each missed message exactly once, in order, then the new one.
    const seen = [...(bob.reply.messages as Payload[]), ...of(bob.received, "message:new")];
    expect(seen.map((m) => m.seq)).toEqual([...sentSeqs, next.response.seq]);
    expect(seen.map((m) => m.content)).toEqual([...[1, 2, 3, 4, 5].map((i) => `missed ${i}`), "after the gap"]);
  });

  it("answers invalid payloads and unknown messages with a reason", async () => {
    const alice = await joined(await connect("alice"), `chat:${conversationId}`);
    expect((await push(alice.channel, "message:send", { content: 42 })).response).toMatchObject({ reason: "invalid" });
    expect((await push(alice.channel, "message:send", { content: "   " })).response).toMatchObject({ reason: "invalid" });
    expect((await push(alice.channel, "message:edit", { messageId: "no-such-message", content: "x" })).response).toMatchObject({ reason: "not_found" });
  });

  it("pages through history over REST, members only", async () => {
    const bobToken = `Bearer ${await tokenFor("bob")}`;
    const total = await eventually(async () => {
      const all = await fetch(`${base}/api/conversations/${conversationId}/messages?after_seq=0&limit=200`, { headers: { authorization: bobToken } });
      const { messages } = (await all.json()) as { messages: { content: string }[] };
      return messages.some((m) => m.content === "after the gap") ? messages.length : undefined;
    }, 15_000, "history to catch up");
    expect(total).toBeGreaterThan(5);
    const newest = await fetch(`${base}/api/conversations/${conversationId}/messages?limit=3`, { headers: { authorization: bobToken } });
    const page = ((await newest.json()) as { messages: { seq: number }[] }).messages.map((m) => m.seq);
    expect(page).toHaveLength(3);
    expect(page).toEqual([...page].sort((a, b) => a - b));
    const older = await fetch(`${base}/api/conversations/${conversationId}/messages?before_seq=${page[0]}&limit=2`, { headers: { authorization: bobToken } });
    expect(((await older.json()) as { messages: { seq: number }[] }).messages.map((m) => m.seq)).toEqual([page[0]! - 2, page[0]! - 1]);
    const outsider = await fetch(`${base}/api/conversations/${conversationId}/messages`, { headers: { authorization: `Bearer ${await tokenFor("mallory")}` } });
    expect(outsider.status).toBe(404);
  });
});
