import { randomBytes } from "node:crypto";
import { Presence, type Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fastPresenceEnv, RoleCluster, type RoleProcess } from "../support/roles.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { connectSocket, joinChannel, openSocket, pushTo, type Payload } from "../support/phoenix-client.js";
import { tokenFor } from "../support/tokens.js";

/** How many comments a user may post per minute in this service. */
const PER_MINUTE = 4;
/** How long a dead gateway may stay silent before it is swept, and how often gateways beat and sweep, in this test. */
const STALE_MS = 3_000;
const BEAT_MS = 500;

/**
 * Comments on a video with the stock phoenix client, through one `quikchat start` (all roles),
 * and the presence of the video's viewers, with a second gateway process that is killed.
 */
describe("comments, end to end", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const video = `video-${run}`;
  const [alice, bob] = ["alice", "bob"].map((name) => `${name}-${run}`) as [string, string];
  const env = fastPresenceEnv(uniquePrefix("comments"), { staleMs: STALE_MS, beatMs: BEAT_MS });
  const cluster = new RoleCluster(env);
  let service: ServiceProcess;
  let base: string;
  let doomed: RoleProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("comments", { ...env, RATE_LIMIT_COMMENTS_PER_MIN: String(PER_MINUTE) }));
    doomed = await cluster.ready(await cluster.start("gateway", `gateway-doomed-${run}`));
  }, 240_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await cluster.stopAll();
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

  describe("the presence of the viewers", () => {
    const viewed = `viewers-${run}`;

    /** A socket of `user` viewing `videoId` with the stock client's `Presence`: the users it lists, and every presence_diff it received. */
    async function view(user: string, { videoId = viewed, workspaceId = workspace, socket }: { videoId?: string; workspaceId?: string; socket?: Socket } = {}) {
      socket ??= connectSocket(base, { token: await tokenFor(user, workspaceId) });
      sockets.push(socket);
      const channel = socket.channel(`comments:${videoId}`);
      const presence = new Presence(channel);
      const diffs: { joins: Record<string, { metas: Payload[] }>; leaves: Record<string, { metas: Payload[] }> }[] = [];
      channel.on("presence_diff", (diff: (typeof diffs)[number]) => void diffs.push(diff));
      await joinChannel(channel);
      return { socket, channel, diffs, presence, users: () => new Set(presence.list((id: string) => id)) };
    }
    type Viewer = Awaited<ReturnType<typeof view>>;
    const until = (description: string, condition: () => boolean, timeoutMs = 15_000) => eventually(async () => (condition() ? true : undefined), timeoutMs, description);
    const leavesOf = (viewer: Viewer, user: string) => viewer.diffs.flatMap((diff) => diff.leaves[user]?.metas ?? []);

    it("shows each viewer the others, and nobody elsewhere; a viewer who leaves the topic or closes the socket leaves once", async () => {
      const [carol, dave] = [`carol-${run}`, `dave-${run}`];
      const a = await view(alice);
      const b = await view(bob);
      const otherVideo = await view(carol, { videoId: `other-${run}` });
      const otherWorkspace = await view(dave, { workspaceId: `other-${run}` });
      await until("alice and bob to see each other", () => ["alice", "bob"].every((name) => a.users().has(`${name}-${run}`) && b.users().has(`${name}-${run}`)));
      const [bobMeta] = a.presence.list((id: string, { metas }: { metas: Payload[] }) => (id === bob ? metas : [])).flat();
      expect(bobMeta).toMatchObject({ phx_ref: expect.stringMatching(/\//), connection_id: expect.any(String), status: "online", platform: "web" });
      await until("carol and dave to see themselves", () => otherVideo.users().has(carol) && otherWorkspace.users().has(dave));

      // Leaving the topic (phx_leave): one leave, the socket and its other channels stay.
      await new Promise((resolve) => b.channel.leave().receive("ok", resolve));
      await until("bob to leave alice's viewers", () => !a.users().has(bob));
      const again = await view(bob, { socket: b.socket });
      await until("bob back among alice's viewers", () => a.users().has(bob) && again.users().has(alice));
      // Closing the socket: one leave.
      b.socket.disconnect();
      await until("bob's closed socket to leave", () => !a.users().has(bob));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(leavesOf(a, bob)).toHaveLength(2);
      expect(new Set(leavesOf(a, bob).map((meta) => meta.phx_ref)).size).toBe(2);

      for (const elsewhere of [otherVideo, otherWorkspace]) {
        expect([...elsewhere.users()]).toHaveLength(1);
        expect(elsewhere.diffs.flatMap((diff) => [...Object.keys(diff.joins), ...Object.keys(diff.leaves)]).every((user) => user === carol || user === dave)).toBe(true);
      }
    });

    it("hides a viewer who appears offline, and shows them again when back", async () => {
      const erin = `erin-${run}`;
      const watcher = await view(alice, { videoId: `status-${run}` });
      await view(erin, { videoId: `status-${run}` });
      await until("erin among the viewers", () => watcher.users().has(erin));
      const setStatus = async (status: string) => {
        const response = await fetch(`${base}/api/presence/status`, {
          method: "PUT",
          headers: { authorization: `Bearer ${await tokenFor(erin, workspace)}`, "content-type": "application/json" },
          body: JSON.stringify({ status }),
        });
        expect(response.status).toBe(200);
      };
      await setStatus("offline");
      await until("erin hidden", () => !watcher.users().has(erin));
      await setStatus("away");
      await until("erin shown again, away", () => watcher.users().has(erin));
      expect(watcher.presence.list((id: string, { metas }: { metas: Payload[] }) => (id === erin ? metas.map((meta) => meta.status) : [])).flat()).toEqual(["away"]);
    });

    it("refuses a topic over 200 characters with invalid_topic", async () => {
      const socket = connectSocket(base, { token: await tokenFor(alice, workspace) });
      sockets.push(socket);
      await expect(joinChannel(socket.channel(`comments:${"v".repeat(200)}`))).rejects.toThrow(/invalid_topic/);
    });

    it("takes the viewers of a gateway killed with SIGKILL out of the topic's viewers", async () => {
      const [fred, gina] = [`fred-${run}`, `gina-${run}`];
      const videoId = `killed-${run}`;
      const watcher = await view(alice, { videoId });
      await view(fred, { videoId, socket: await openSocket(doomed.port, fred, workspace) });
      await view(gina, { videoId, socket: await openSocket(doomed.port, gina, workspace) });
      await until("the doomed gateway's viewers seen", () => watcher.users().has(fred) && watcher.users().has(gina));

      const killedAt = Date.now();
      await cluster.kill(doomed);
      await until("the killed gateway's viewers gone", () => !watcher.users().has(fred) && !watcher.users().has(gina), STALE_MS + 20_000);
      console.log(`gateway SIGKILL → its viewers gone at a watcher: ${Date.now() - killedAt} ms (stale after ${STALE_MS} ms)`);
      expect(watcher.users().has(alice)).toBe(true);
      expect(leavesOf(watcher, fred)).toHaveLength(1);
    });
  });
});
