import { randomBytes } from "node:crypto";
import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { tokenFor } from "../support/tokens.js";

/** How many comments a user may post per minute in this service. */
const PER_MINUTE = 4;

/** Comments on a video with the stock phoenix client, through one `quikchat start`. */
describe("comments, end to end", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const video = `video-${run}`;
  const [alice, bob] = ["alice", "bob"].map((name) => `${name}-${run}`) as [string, string];
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("comments", { RATE_LIMIT_COMMENTS_PER_MIN: String(PER_MINUTE) }));
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function join(user: string, workspaceId = workspace) {
    const socket = connectSocket(base, { token: await tokenFor(user, workspaceId) });
    sockets.push(socket);
    const channel = socket.channel(`comments:${video}`);
    const received: Payload[] = [];
    channel.on("new_comment", (comment: Payload) => void received.push(comment));
    const reply = await joinChannel(channel);
    return { channel, reply, received };
  }

  it("delivers a comment to everyone watching, lists the latest in the join reply, keeps workspaces apart, and limits the rate", async () => {
    const a = await join(alice);
    const b = await join(bob);
    const elsewhere = await join(bob, `other-${run}`);
    expect(a.reply).toEqual({ comments: [] });

    const posted = await pushTo(a.channel, "new_comment", { content: "Great video!" });
    expect(posted).toMatchObject({ status: "ok", response: { id: expect.any(String) } });
    await eventually(async () => (b.received.length === 1 && a.received.length === 1 ? true : undefined), 10_000, "both viewers to receive the comment");
    expect(b.received[0]).toEqual({ id: posted.response.id, content: "Great video!", user_id: alice, inserted_at: expect.any(Number) });

    expect(await pushTo(a.channel, "new_comment", { content: "   " })).toMatchObject({ status: "error", response: { reason: "invalid" } });
    for (let i = 1; i <= PER_MINUTE; i += 1) expect((await pushTo(b.channel, "new_comment", { content: `comment ${i}` })).status).toBe("ok");
    expect(await pushTo(b.channel, "new_comment", { content: "one too many" })).toMatchObject({ status: "error", response: { reason: "rate_limited" } });

    const late = await eventually(async () => {
      const joined = await join(alice);
      return (joined.reply.comments as Payload[]).length === PER_MINUTE + 1 ? joined : undefined;
    }, 10_000, "the comments in a join reply");
    expect((late.reply.comments as Payload[]).map((comment) => comment.content)).toEqual(["Great video!", "comment 1", "comment 2", "comment 3", "comment 4"]);
    expect(elsewhere.received).toEqual([]);
  });
});
