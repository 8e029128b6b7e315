import { randomBytes } from "node:crypto";
import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { fastPresenceEnv, RoleCluster, type RoleProcess } from "../support/roles.js";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { openSocket, watchPresence } from "../support/phoenix-client.js";
import { tokenFor } from "../support/tokens.js";

/** How long a dead gateway may stay silent before it is swept, and how often gateways beat and sweep, in this test. */
const STALE_MS = 3_000;
const BEAT_MS = 500;
/** The bound the test holds the cluster to: staleness + one sweep + the command → event → projection → diff loop. */
const OFFLINE_BOUND_MS = STALE_MS + BEAT_MS + 5_000;
const STORM_SOCKETS = 2_000;
const STORM_WATCHERS = 100;

/**
 * Presence across gateway processes: a gateway killed with SIGKILL never says goodbye, and the
 * others' sweeper must take its users offline within the configured bound; a reconnect storm
 * of 2,000 sockets must converge to the right presence without killing anything.
 */
describe("presence across gateways, end to end (roles as separate processes)", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const cluster = new RoleCluster(fastPresenceEnv(uniquePrefix("presence-gw"), { staleMs: STALE_MS, beatMs: BEAT_MS }));
  let doomed: RoleProcess;
  let survivor: RoleProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    await cluster.ready(await cluster.start("processor", `processor-${run}`));
    await cluster.ready(await cluster.start("projector", `projector-${run}`));
    doomed = await cluster.start("gateway", `gateway-a-${run}`);
    survivor = await cluster.start("gateway", `gateway-b-${run}`);
    await Promise.all([cluster.ready(doomed), cluster.ready(survivor)]);
  }, 240_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await cluster.stopAll();
  });

  async function connect(gateway: RoleProcess, user: string): Promise<Socket> {
    // The killed gateway's clients must not find their way back during the test.
    const socket = await openSocket(gateway.port, user, workspace);
    sockets.push(socket);
    return socket;
  }

  const watch = async (gateway: RoleProcess, user: string) => watchPresence(await connect(gateway, user), workspace);

  it("takes the users of a gateway killed with SIGKILL offline within the configured bound", async () => {
    const watcher = await watch(survivor, `watcher-${run}`);
    const victims = [`dora-${run}`, `eve-${run}`];
    for (const user of victims) await connect(doomed, user);
    // One of them is also connected to the surviving gateway: that user must stay online.
    await connect(survivor, victims[1]!);
    await eventually(async () => (victims.every((user) => watcher.users().has(user)) ? true : undefined), 15_000, "the victims online");

    const killedAt = Date.now();
    await cluster.kill(doomed);
    await eventually(async () => (watcher.users().has(victims[0]!) ? undefined : true), OFFLINE_BOUND_MS + 5_000, "dora offline");
    const offlineAfter = Date.now() - killedAt;
    console.log(`gateway SIGKILL → user offline at a watcher: ${offlineAfter} ms (stale after ${STALE_MS} ms, sweep every ${BEAT_MS} ms)`);
    expect(offlineAfter).toBeLessThanOrEqual(OFFLINE_BOUND_MS);
    expect(watcher.users().has(victims[1]!)).toBe(true);

    const rest = await fetch(`${survivor.base}/api/presence/${victims[0]}`, { headers: { authorization: `Bearer ${await tokenFor(`watcher-${run}`, workspace)}` } });
    expect(await rest.json()).toMatchObject({ status: "offline", device_count: 0 });
  });

  it(`converges after a reconnect storm of ${STORM_SOCKETS} sockets, and nothing dies`, async () => {
    const url = `ws://127.0.0.1:${survivor.port}/socket/websocket?vsn=2.0.0`;
    const users = Array.from({ length: STORM_SOCKETS / 2 }, (_, index) => `storm-${index}-${run}`);
    const tokens = new Map(await Promise.all(users.map(async (user) => [user, await tokenFor(user, workspace)] as const)));
    const watcher = await watch(survivor, `storm-watcher-${run}`);

    /** Opens every socket at once (two per user); every STORM_SOCKETS / STORM_WATCHERS-th one also joins the presence channel. */
    const storm = () =>
      Promise.all(
        Array.from({ length: STORM_SOCKETS }, (_, index) => {
          const user = users[index % users.length]!;
          return new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(`${url}&token=${tokens.get(user)}`);
            socket.once("open", () => {
              if (index % (STORM_SOCKETS / STORM_WATCHERS) === 0) socket.send(JSON.stringify(["1", "1", `presence:${workspace}`, "phx_join", {}]));
              resolve(socket);
            });
            socket.once("error", reject);
          });
        }),
      );
    const everyoneOnline = () =>
      eventually(async () => (users.every((user) => watcher.users().has(user)) ? true : undefined), 60_000, "every storm user online");

    let open = await storm();
    await everyoneOnline();
    // The storm: every socket drops at once (no close handshake), then all reconnect at once.
    for (const socket of open) socket.terminate();
    open = await storm();
    await everyoneOnline();
    // The watcher may never have seen a user go (the new socket opened before the old one's close
    // was processed); the read model passes through that moment too, so it is read until it converges.
    await eventually(async () => {
      const online = await fetch(`${survivor.base}/api/presence/online`, { headers: { authorization: `Bearer ${await tokenFor(`storm-watcher-${run}`, workspace)}` } });
      const listed = new Set(((await online.json()) as { users: { user_id: string }[] }).users.map((u) => u.user_id));
      return users.every((user) => listed.has(user)) ? true : undefined;
    }, 30_000, "every storm user listed online over REST");
    const device = await fetch(`${survivor.base}/api/presence/${users[0]}`, { headers: { authorization: `Bearer ${await tokenFor(`storm-watcher-${run}`, workspace)}` } });
    // Both sockets of the user, and none of the terminated ones, once the closes have been processed.
    await eventually(async () => {
      const body = (await (await fetch(`${survivor.base}/api/presence/${users[0]}`, { headers: { authorization: `Bearer ${await tokenFor(`storm-watcher-${run}`, workspace)}` } })).json()) as { device_count: number };
      return body.device_count === 2 ? true : undefined;
    }, 30_000, "two devices for a storm user");
    expect(device.status).toBe(200);

    for (const socket of open) socket.terminate();
    await eventually(async () => (users.some((user) => watcher.users().has(user)) ? undefined : true), 60_000, "every storm user offline");
    for (const role of cluster.processes.filter((p) => p !== doomed)) {
      expect(role.child.exitCode, `${role.role} ${role.nodeName} still running`).toBeNull();
    }
  });
});
