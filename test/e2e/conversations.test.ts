import type { Channel, Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { tokenFor } from "../support/tokens.js";

/**
 * Conversations and membership through the whole service: REST → command on Kafka → the
 * conversations processor → events → the membership projection → the gateway's join checks,
 * with the stock phoenix client.
 */
describe("conversations and membership, end to end", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("conversations", { RATE_LIMIT_EVENTS_PER_MIN: "30" }));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function api(method: string, path: string, user: string | undefined, body?: unknown, workspace = "w1") {
    const headers: Record<string, string> = {};
    if (user !== undefined) headers.authorization = `Bearer ${await tokenFor(user, workspace)}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  }

  async function connect(user: string, workspace = "w1"): Promise<Socket> {
    const token = await tokenFor(user, workspace);
    const socket = connectSocket(base, { token });
    sockets.push(socket);
    return socket;
  }

  function join(channel: Channel): Promise<{ status: "ok" | "error"; response: Record<string, unknown> }> {
    return new Promise((resolve) => {
      channel
        .join()
        .receive("ok", (response: Record<string, unknown>) => resolve({ status: "ok", response }))
        .receive("error", (response: Record<string, unknown>) => {
          channel.leave();
          resolve({ status: "error", response });
        });
    });
  }

  let conversationId: string;

  it("creates a conversation whose members can join at once", async () => {
    const created = await api("POST", "/api/conversations", "alice", { type: "group", members: ["bob"], name: "Team" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      type: "group",
      title: "Team",
      members: [
        { userId: "alice", role: "owner" },
        { userId: "bob", role: "member" },
      ],
    });
    conversationId = String(created.body!.id);

    const bob = await connect("bob");
    expect(await join(bob.channel(`chat:${conversationId}`, {}))).toEqual({ status: "ok", response: { last_seq: 0 } });
    expect((await join(bob.channel(`conversation:${conversationId}`, {}))).status).toBe("ok");
  });

  it("refuses non-members and other workspaces the same way, whether or not the conversation exists", async () => {
    const carol = await connect("carol");
    expect(await join(carol.channel(`chat:${conversationId}`, {}))).toEqual({ status: "error", response: { reason: "unauthorized" } });
    expect(await join(carol.channel("chat:no-such-conversation", {}))).toEqual({ status: "error", response: { reason: "unauthorized" } });
    const mallory = await connect("bob", "w2");
    expect((await join(mallory.channel(`chat:${conversationId}`, {}))).status).toBe("error");

    expect((await api("GET", `/api/conversations/${conversationId}`, "carol")).status).toBe(404);
    expect((await api("GET", `/api/conversations/${conversationId}`, "bob", undefined, "w2")).status).toBe(404);
    const seen = await api("GET", `/api/conversations/${conversationId}`, "bob");
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: conversationId, createdBy: "alice" });
  });

  it("adds a member, who can then join", async () => {
    const added = await api("POST", `/api/conversations/${conversationId}/members`, "alice", { userId: "carol" });
    expect(added.status).toBe(201);
    expect(added.body!.members).toContainEqual({ userId: "carol", role: "member" });
    const carol = await connect("carol");
    expect((await join(carol.channel(`chat:${conversationId}`, {}))).status).toBe("ok");
  });

  it("removing a member closes their live channels", async () => {
    const dave = await api("POST", `/api/conversations/${conversationId}/members`, "alice", { userId: "dave" });
    expect(dave.status).toBe(201);
    const socket = await connect("dave");
    const channel = socket.channel(`chat:${conversationId}`, {});
    expect((await join(channel)).status).toBe("ok");
    const closed = new Promise<void>((resolve) => channel.onClose(() => resolve()));

    expect((await api("DELETE", `/api/conversations/${conversationId}/members/dave`, "alice")).status).toBe(204);
    await closed;
    const again = socket.channel(`chat:${conversationId}`, {});
    expect((await join(again)).status).toBe("error");
  });

  it("answers domain rejections with their HTTP status and the error shape", async () => {
    const byOutsider = await api("POST", `/api/conversations/${conversationId}/members`, "mallory", { userId: "mallory" });
    expect(byOutsider).toEqual({ status: 404, body: { statusCode: 404, error: "Not Found", message: expect.any(String) } });
    const byMember = await api("DELETE", `/api/conversations/${conversationId}/members/alice`, "carol");
    expect(byMember.status).toBe(403);
    const direct = await api("POST", "/api/conversations", "alice", { type: "direct", members: ["bob", "carol"] });
    expect(direct.status).toBe(400);
  });

  it("refuses bad requests with 400 and missing or bad tokens with 401", async () => {
    expect((await api("POST", "/api/conversations", undefined, { type: "group", members: [] })).status).toBe(401);
    const forged = await fetch(`${base}/api/conversations/${conversationId}`, {
      headers: { authorization: `Bearer ${await tokenFor("alice", "w1", 60, "another-secret-of-at-least-32-chars!!")}` },
    });
    expect(forged.status).toBe(401);
    const malformed = await api("POST", "/api/conversations", "alice", "{not json");
    expect(malformed).toMatchObject({ status: 400, body: { statusCode: 400, error: "Bad Request" } });
    const wrongType = await api("POST", "/api/conversations", "alice", { type: "broadcast", members: [] });
    expect(wrongType).toMatchObject({ status: 400, body: { statusCode: 400, error: "Bad Request" } });
  });

  it("a retried create with the same Idempotency-Key creates one conversation", async () => {
    const token = await tokenFor("alice");
    const create = () =>
      fetch(`${base}/api/conversations`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": "create-once" },
        body: JSON.stringify({ type: "group", members: ["bob"], name: "Once" }),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { id: string } }));
    const first = await create();
    const second = await create();
    expect(first.status).toBe(201);
    expect(second).toEqual(first);
  });

  it("authorizes every topic family for the token's user and workspace", async () => {
    const bob = await connect("bob");
    const matrix: [string, "ok" | "unauthorized" | "unmatched topic"][] = [
      ["user:bob", "ok"],
      ["user:alice", "unauthorized"],
      ["presence:w1", "ok"],
      ["presence:w2", "unauthorized"],
      ["webrtc:lobby", "ok"],
      ["webrtc:lobby2", "unmatched topic"],
      ["call:some-call", "unauthorized"],
      ["huddle:some-huddle", "unauthorized"],
      ["nowhere:1", "unmatched topic"],
    ];
    for (const [topic, expected] of matrix) {
      const answer = await join(bob.channel(topic, {}));
      expect([topic, answer.status === "ok" ? "ok" : answer.response.reason]).toEqual([topic, expected]);
    }
  });

  it("limits each user's REST requests per route and says when to retry", async () => {
    // Budgets live in Redis across runs: a user of this run only.
    const hasty = `hasty-${Date.now()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 31; i += 1) statuses.push((await api("GET", "/api/conversations/nothing-here", hasty)).status);
    expect(statuses.slice(0, 30).every((status) => status === 404)).toBe(true);
    expect(statuses[30]).toBe(429);
    const limited = await fetch(`${base}/api/conversations/nothing-here`, { headers: { authorization: `Bearer ${await tokenFor(hasty)}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await api("GET", "/api/conversations/nothing-here", `patient-${Date.now()}`)).status).toBe(404);
  });

  it("serves an OpenAPI document of the REST API", async () => {
    const response = await fetch(`${base}/openapi.json`);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/api/conversations", "/api/conversations/{id}", "/api/conversations/{id}/members", "/health"]),
    );
  });
});
