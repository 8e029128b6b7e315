import { randomBytes } from "node:crypto";
import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrives, listen, received, type Listening } from "../support/channel-inbox.js";
import { connectSocket, pushTo, type Payload } from "../support/phoenix-client.js";
import { fastPresenceEnv, RoleCluster, type RoleProcess } from "../support/roles.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

/** How long a dead gateway may stay silent before it is swept, and how often gateways beat and sweep, in this test. */
const STALE_MS = 3_000;
const BEAT_MS = 500;

/**
 * No ghosts in huddles: three stock phoenix clients in a huddle across two gateways (one
 * `quikchat start` of every role, and a second gateway process); the second is killed with
 * SIGKILL, and presence's sweep of its connections removes its participant with
 * `connection_lost` through the presence policy of huddles.
 */
describe("huddles across a gateway crash, end to end", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const env = fastPresenceEnv(uniquePrefix("huddles-crash"), { staleMs: STALE_MS, beatMs: BEAT_MS });
  const cluster = new RoleCluster(env);
  let service: ServiceProcess;
  let base: string;
  let doomed: RoleProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("huddles-crash", env));
    doomed = await cluster.ready(await cluster.start("gateway", `gateway-doomed-${run}`));
  }, 240_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await cluster.stopAll();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function connect(user: string, at: string): Promise<Socket> {
    const socket = connectSocket(at, { token: await tokenFor(user, workspace) });
    sockets.push(socket);
    return socket;
  }

  async function api(user: string, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(user, workspace)}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Payload };
  }

  it("removes the killed gateway's participant with connection_lost within the presence bound, and lists no ghost", async () => {
    const [alice, bob, carol] = ["alice", "bob", "carol"].map((name) => `${name}-${run}`) as [string, string, string];
    const created = await api(alice, "POST", "/api/conversations", { type: "group", members: [bob, carol], name: "Crash" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const conversationId = String(created.body.id);

    const aliceSocket = await connect(alice, base);
    const chat = await listen(aliceSocket, `chat:${conversationId}`, []);
    const started = await pushTo(chat.channel, "huddle:create", { title: "Crash test" });
    expect(started.status, JSON.stringify(started.response)).toBe("ok");
    const huddleId = String(started.response.huddleId);

    const events = ["huddle:participant:joined", "huddle:participant:left", "participant_left"];
    const huddle: Record<string, Listening> = {};
    huddle.alice = await listen(aliceSocket, `huddle:${huddleId}`, events);
    huddle.bob = await listen(await connect(bob, base), `huddle:${huddleId}`, events);
    // carol is on the gateway that will crash.
    huddle.carol = await listen(await connect(carol, doomed.base), `huddle:${huddleId}`, events);
    await arrives(huddle.alice.inbox, "huddle:participant:joined", { userId: carol });
    const participantsBefore = (await api(alice, "GET", `/api/huddles/${huddleId}`)).body.participants as Payload[];
    expect(participantsBefore.map(({ userId }) => userId).sort()).toEqual([alice, bob, carol].sort());

    const killedAt = Date.now();
    await cluster.kill(doomed);
    for (const user of ["alice", "bob"]) {
      await eventually(async () => (received(huddle[user]!.inbox, "huddle:participant:left", { userId: carol }).length > 0 ? true : undefined), STALE_MS + 30_000, `${user} sees carol leave`);
    }
    console.log(`gateway SIGKILL → its huddle participant gone at the others: ${Date.now() - killedAt} ms (stale after ${STALE_MS} ms)`);
    for (const user of ["alice", "bob"]) {
      expect(received(huddle[user]!.inbox, "huddle:participant:left", { userId: carol }).map(({ payload }) => payload.reason)).toEqual(["connection_lost"]);
      expect(received(huddle[user]!.inbox, "participant_left", { userId: carol }).map(({ payload }) => payload.reason)).toEqual(["connection_lost"]);
    }

    // The live read model and a fresh join reply list no ghost.
    const participantsAfter = await eventually(async () => {
      const participants = (await api(alice, "GET", `/api/huddles/${huddleId}`)).body.participants as Payload[];
      return participants.length === 2 ? participants : undefined;
    }, 10_000, "the huddle without carol");
    expect(participantsAfter.map(({ userId }) => userId).sort()).toEqual([alice, bob].sort());
    const carolAgain = await connect(carol, base);
    const fresh = await new Promise<Payload>((resolve, reject) =>
      carolAgain
        .channel(`huddle:${huddleId}`, {})
        .join()
        .receive("ok", (response: Payload) => resolve(response))
        .receive("error", (response: Payload) => reject(new Error(JSON.stringify(response)))),
    );
    // carol back on a new connection: the others once each, her own arrival fresh, nobody twice.
    expect((fresh.participants as Payload[]).map(({ userId }) => userId).sort()).toEqual([alice, bob, carol].sort());
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(received(huddle.alice.inbox, "huddle:participant:left", { userId: carol })).toHaveLength(1);
  }, 120_000);
});
