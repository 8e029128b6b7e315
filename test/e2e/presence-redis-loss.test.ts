import { randomBytes } from "node:crypto";
import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/contexts/index.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import { joinChannel, openSocket, watchPresence, watchTopicPresence } from "../support/phoenix-client.js";
import { fastPresenceEnv, RoleCluster, type RoleProcess } from "../support/roles.js";
import { eventually, testLogger, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

/** How long a dead gateway may stay silent before it is swept, and how often gateways beat and sweep, in this test. */
const STALE_MS = 3_000;
const BEAT_MS = 500;
/**
 * From the loss of Redis's data to presence listing exactly the users still connected: the
 * projector noticing (within a second), replaying the log, and the dead gateway's connections
 * restored by the replay being swept (staleness + one sweep), with room for this shared machine.
 */
const LOSS_BOUND_MS = 12_000;
/** From the last socket back on the restarted gateway to presence listing everyone. */
const RECONNECT_BOUND_MS = 5_000;
const USERS = 8;

/**
 * Presence after Redis loses its data (a restart without persistence) under the running
 * projector and gateways, as the chaos run's fault "Redis restart (nothing kept)" after the
 * faults before it: the processor and the projector were killed with SIGKILL and restarted
 * earlier (so the projector has written nothing since it started), and a gateway is killed
 * just before the loss (so the loss takes its liveness entry while its connections are still
 * open in the log). Every user still connected must be listed again, by a watcher on the stock
 * client's `Presence` and by `GET /api/presence/online`, and nobody who is gone; every socket also
 * views one video (`comments:{videoId}`), whose viewers the watcher must list the same way.
 */
describe("presence after Redis loses its data, end to end (roles as separate processes)", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const prefix = uniquePrefix("presence-loss");
  const cluster = new RoleCluster(fastPresenceEnv(prefix, { staleMs: STALE_MS, beatMs: BEAT_MS }));
  const redis = createRedis(loadConfig(process.env).redis.url, testLogger(), { name: "presence-loss-test" });
  const watcherUser = `watcher-${run}`;
  const video = `comments:video-${run}`;
  const held = new Map<Socket, { user: string }>();
  let gatewayA: RoleProcess;
  let gatewayB: RoleProcess;
  let processor: RoleProcess;
  let projector: RoleProcess;

  beforeAll(async () => {
    // One role first: it creates the topics and schemas, which concurrent first starts race on.
    processor = await cluster.ready(await cluster.start("processor", `processor-${run}`));
    [projector, gatewayA, gatewayB] = await Promise.all([
      cluster.start("projector", `projector-${run}`).then((p) => cluster.ready(p)),
      cluster.start("gateway", `gateway-a-${run}`).then((p) => cluster.ready(p)),
      cluster.start("gateway", `gateway-b-${run}`).then((p) => cluster.ready(p)),
    ]);
  }, 240_000);

  afterAll(async () => {
    for (const socket of held.keys()) socket.disconnect();
    await cluster.stopAll();
    await redis.quit();
  });

  /** A socket of `user` on `gateway`, viewing the video. */
  async function connect(gateway: RoleProcess, user: string): Promise<Socket> {
    // A killed gateway's clients come back where the test says, not on their own.
    const socket = await openSocket(gateway.port, user, workspace);
    held.set(socket, { user });
    if (user !== watcherUser) await joinChannel(socket.channel(video));
    return socket;
  }

  function leave(socket: Socket): void {
    socket.disconnect();
    held.delete(socket);
  }

  /** The users with an open socket: what presence must list. */
  const connected = () => new Set([...held].filter(([socket]) => socket.isConnected()).map(([, { user }]) => user));

  async function listedOverRest(): Promise<Set<string>> {
    const response = await fetch(`${gatewayB.base}/api/presence/online`, { headers: { authorization: `Bearer ${await tokenFor(watcherUser, workspace)}` } });
    expect(response.status).toBe(200);
    return new Set(((await response.json()) as { users: { user_id: string }[] }).users.map((user) => user.user_id));
  }

  const sorted = (users: Set<string>) => [...users].sort();

  type Watcher = { users(): Set<string> };

  /** Resolves once the watcher of the workspace, the video's and REST all list exactly `expected`; fails with what each lists after `timeoutMs`. */
  async function listedExactly({ watcher, viewers }: { watcher: Watcher; viewers: Watcher }, expected: () => Set<string>, timeoutMs: number, what: string): Promise<void> {
    let last = "";
    await eventually(
      async () => {
        const want = JSON.stringify(sorted(expected()));
        const views = { watcher: sorted(watcher.users()), viewers: sorted(viewers.users()), rest: sorted(await listedOverRest()) };
        last = JSON.stringify({ want, ...views });
        return Object.values(views).every((listed) => JSON.stringify(listed) === want) ? true : undefined;
      },
      timeoutMs,
      what,
    ).catch((error: unknown) => {
      throw new Error(`${what}: not listed within ${timeoutMs} ms; last look ${last}`, { cause: error });
    });
  }

  /** Resolves once the projector process has moved every partition of the presence events to its checkpoints and read to the end. */
  async function projectorLive(role: RoleProcess, partitions: number): Promise<void> {
    await eventually(
      async () => {
        const metrics = await (await fetch(`${role.base}/metrics`)).text();
        const live = metrics.split("\n").filter((line) => line.startsWith("quikchat_projection_lag{") && line.includes('projection="presence"'));
        return live.length === partitions ? true : undefined;
      },
      60_000,
      "the restarted projector to own every presence partition",
    );
  }

  /** What a Redis restart without persistence does to this test's deployment: every key of its prefix is gone. */
  async function loseRedisData(): Promise<number> {
    let deleted = 0;
    for await (const found of redis.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
      if (found.length > 0) deleted += await redis.unlink(...found);
    }
    return deleted;
  }

  it("lists every connected user again, and nobody who is gone, after the loss", async () => {
    const watcherSocket = await connect(gatewayB, watcherUser);
    const watchers = { watcher: await watchPresence(watcherSocket, workspace), viewers: await watchTopicPresence(watcherSocket, video) };
    const users = Array.from({ length: USERS }, (_, index) => `u${index}-${run}`);
    const onA = users.filter((_, index) => index % 2 === 0);
    const sockets = new Map<string, Socket>();
    for (const user of users) sockets.set(user, await connect(onA.includes(user) ? gatewayA : gatewayB, user));
    await listedExactly(watchers, connected, 30_000, "every user online");

    // The earlier faults: the stream core killed and restarted. The new projector has read its
    // checkpoints and written nothing since: nothing happens to presence until the loss.
    await Promise.all([cluster.kill(processor), cluster.kill(projector)]);
    [processor, projector] = await Promise.all([
      cluster.start("processor", `processor-${run}`).then((p) => cluster.ready(p)),
      cluster.start("projector", `projector-2-${run}`).then((p) => cluster.ready(p)),
    ]);
    await projectorLive(projector, loadConfig(process.env).kafka.partitions);

    // Gateway A dies with its sockets, and Redis loses everything before the sweeper expired them.
    await cluster.kill(gatewayA);
    const lostAt = Date.now();
    expect(await loseRedisData()).toBeGreaterThan(0);
    for (const user of onA) leave(sockets.get(user)!);
    const restarted = cluster.start("gateway", `gateway-a-2-${run}`).then((p) => cluster.ready(p));
    // Life goes on at the same time on B: one user leaves for good, one arrives.
    const leavingB = users[1]!;
    leave(sockets.get(leavingB)!);
    await connect(gatewayB, `late-${run}`);

    await listedExactly(watchers, connected, LOSS_BOUND_MS, "the users still connected, once Redis lost its data");
    console.log(`Redis data lost → presence listing exactly the connected users again: ${Date.now() - lostAt} ms`);

    // A's users come back on the restarted gateway, except one who left for good.
    gatewayA = await restarted;
    const [leaver, ...returning] = onA;
    for (const user of returning) await connect(gatewayA, user);
    await eventually(async () => ([...held.keys()].every((socket) => socket.isConnected()) ? true : undefined), 30_000, "every socket open");
    await listedExactly(watchers, connected, RECONNECT_BOUND_MS, "every connected user after the reconnects");
    expect([...connected()].filter((user) => user === leaver || user === leavingB)).toEqual([]);
    expect(connected().size).toBe(USERS);
  });
});
