/**
 * Row 3: fan-out. One room (for QuikChat one conversation) of N sockets held by ONE server
 * process (a `--role gateway` process; the bare `ws` and Socket.IO servers are one process
 * too), the sockets spread over client processes; one member sends M messages at once; the
 * rate is the deliveries counted at the clients divided by the time from the first send to the
 * last delivery; the best of a few bursts counts.
 */
import type { SocketPlan } from "./client-worker.js";
import { ClientPool, type LoadResult } from "./client-pool.js";
import { attempt, attemptOurs, range, requireOurs, type Context } from "./context.js";
import type { KafkaSeedApi } from "./kafka-seed.js";
import { forkWorker } from "./processes.js";
import { failed, int, row, times, verdict, type Row } from "./report.js";
import { createConversation, memberCount, onlineCount } from "./service.js";
import { freePort } from "../bench-support.js";
import { sleep } from "../../src/platform/sleep.js";

type ServerApi = { listen: (args: { port: number }) => Promise<void> };

/** The best of the bursts, with each burst's rate; lost and duplicates are the worst burst's. */
type Burst = LoadResult & {
  readonly bursts: readonly number[];
  readonly perBurst: readonly LoadResult[];
  readonly openSeconds: number;
  readonly joinSeconds: number;
  /** QuikChat: user expirations issued by presence sweepers during the row (see `presenceSweeps`). */
  readonly presenceSweeps?: number;
};

const user = (i: number) => `fan-${i}`;
/** A workspace of its own, so that the online count says when this row's sockets are all online. */
const WORKSPACE = "bench-fanout";

/**
 * Opens the sockets, then (after `beforeJoin`) joins them to the room, then sends. Opening all
 * sockets before any joins keeps the set-up linear for QuikChat: each socket that comes online
 * makes the presence projection push `user_online` to every member already joined to the
 * conversation, so a room that fills up one socket at a time costs N²/2 pushes before the
 * first message (hours for 10,000 on this machine).
 */
async function burst(context: Context, label: string, protocol: "phoenix" | "socketio", url: string, topic: string, beforeJoin = async () => {}): Promise<Burst> {
  const { fanoutSockets: sockets, fanoutMessages: messages, socketsPerClientProcess } = context.plan;
  const pool = await ClientPool.start(label, Math.max(2, Math.ceil(sockets / socketsPerClientProcess)));
  try {
    context.progress(`  ${label}: connecting ${int(sockets)} sockets`);
    const plans: SocketPlan[] = range(sockets).map((i) => ({ url, user: user(i), workspace: WORKSPACE, topics: [topic] }));
    const opened = await pool.connect(protocol, plans, 50, true);
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${opened.planned} sockets failed to connect: ${JSON.stringify(opened.errors)}`);
    await beforeJoin();
    const connected = await pool.joinDeferred(50);
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${connected.planned} sockets failed to join: ${JSON.stringify(connected.errors)}`);
    context.progress(`  ${label}: ${int(sockets)} opened in ${opened.seconds.toFixed(1)} s, joined in ${connected.seconds.toFixed(1)} s; ${messages} messages at once`);
    const senders = [{ socket: 0, topic }];
    // One message first: subscriptions and caches warm, the same for every server.
    await pool.load({ tag: `${label}-warm`, senders, rate: Infinity, count: 1, drainMs: 30_000 });
    const bursts: LoadResult[] = [];
    for (let i = 0; i < context.plan.fanoutBursts; i += 1) {
      await sleep(1_000);
      bursts.push(await pool.load({ tag: `${label}-burst-${i}`, senders, rate: Infinity, count: messages, drainMs: 60_000, replyTimeoutMs: 30_000 }));
    }
    // The best burst: what the server can do when the shared machine lets it.
    const best = bursts.reduce((a, b) => (b.deliveriesPerSecond > a.deliveriesPerSecond ? b : a));
    return {
      ...best,
      bursts: bursts.map((b) => b.deliveriesPerSecond),
      perBurst: bursts,
      lost: Math.max(...bursts.map((b) => b.lost)),
      duplicates: Math.max(...bursts.map((b) => b.duplicates)),
      openSeconds: opened.seconds,
      joinSeconds: connected.seconds,
    };
  } finally {
    await pool.stop(false);
  }
}

/** Polls `done` each second until it says true; a failing poll (a 500 under load) is retried until `ms` have passed. */
async function until(ms: number, what: string, done: () => Promise<boolean>): Promise<void> {
  let failure = "";
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(1_000)) {
    try {
      if (await done()) return;
    } catch (error) {
      failure = `; last poll: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  throw new Error(`waited ${ms / 1000} s for ${what}${failure}`);
}

async function ours(context: Context): Promise<Burst> {
  const { core, gateways } = requireOurs(context);
  const n = context.plan.fanoutSockets;
  context.progress(`  QuikChat: one conversation of ${int(n)} members`);
  // REST takes at most 1,000 members at creation; the rest are AddMember commands written to Kafka in bulk.
  const id = await createConversation(core.base, user(0), range(Math.min(n, 1_000)).slice(1).map(user), WORKSPACE);
  if (n > 1_000) {
    const seeder = await forkWorker<KafkaSeedApi>("./kafka-seed.ts", "seed-members");
    try {
      await seeder.call("addMembers", { prefix: context.prefix, conversationId: id, actor: user(0), workspace: WORKSPACE, userIds: range(n).slice(1_000).map(user) });
    } finally {
      await seeder.stop();
    }
    await until(300_000, `the conversation to reach ${n} members`, async () => (await memberCount(core.base, user(0), id, WORKSPACE)) >= n);
  }
  // Everyone online (and the user_online pushes done, to nobody yet) before anyone joins.
  const allOnline = async () => {
    await until(180_000, `all ${n} sockets to be online`, async () => (await onlineCount(core.base, user(0), WORKSPACE)) >= n);
    await sleep(2_000);
  };
  const bases = [core, ...gateways].map((p) => p.base);
  const sweptBefore = await presenceSweeps(bases);
  const result = await burst(context, "quikchat", "phoenix", gateways[0]!.socketUrl, `chat:${id}`, allOnline);
  return { ...result, presenceSweeps: Math.max(0, (await presenceSweeps(bases)) - sweptBefore) };
}

/**
 * How many user expirations the presence sweepers issued (`presence_tracking_operations_total`
 * with operation "sweep"): a gateway too busy to write its liveness for PRESENCE_GATEWAY_STALE_MS
 * is swept as dead, and its users' presence changes reach every member of their conversations.
 */
async function presenceSweeps(bases: readonly string[]): Promise<number> {
  let sweeps = 0;
  for (const base of bases) {
    const text = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text(), () => "");
    for (const match of text.matchAll(/^presence_tracking_operations_total\{[^}]*operation="sweep"[^}]*\} (\d+)/gm)) sweeps += Number(match[1]);
  }
  return sweeps;
}

async function baseline(context: Context, kind: "ws" | "socketio"): Promise<Burst> {
  const server = await forkWorker<ServerApi>(kind === "ws" ? "./ws-broadcast-server.ts" : "./socketio-server.ts", `${kind}-fanout-server`);
  try {
    const port = await freePort();
    await server.call("listen", { port });
    return await burst(context, kind, kind === "ws" ? "phoenix" : "socketio", kind === "ws" ? `ws://127.0.0.1:${port}/socket/websocket` : `http://127.0.0.1:${port}`, "room:fanout");
  } finally {
    await server.stop();
  }
}

/** What went wrong during the bursts, if anything: refused sends, connections closed, presence sweeps. */
function closedNote(burst: Burst): string {
  const notes: string[] = [];
  const failedSends = burst.perBurst.reduce((sum, b) => sum + b.failed, 0);
  if (failedSends > 0) notes.push(`${int(failedSends)} sends failed`);
  const closes = Object.entries(burst.perBurst.at(-1)?.closes ?? {});
  if (closes.length > 0) notes.push(`closed: ${closes.map(([reason, n]) => `${reason} ×${int(n)}`).join(", ")}`);
  if ((burst.presenceSweeps ?? 0) > 0) notes.push(`the gateway was swept as dead by presence (${int(burst.presenceSweeps!)} user expirations)`);
  return notes.map((note) => `; ${note}`).join("");
}

export async function fanoutSection(context: Context): Promise<Row[]> {
  const { fanoutSockets, fanoutMessages, quick } = context.plan;
  context.progress(`3. fan-out in one room of ${int(fanoutSockets)} sockets`);
  const results = {
    quikchat: await attemptOurs(context, () => ours(context)),
    ws: await attempt(() => baseline(context, "ws")),
    socketio: await attempt(() => baseline(context, "socketio")),
  };
  context.raw.fanout = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v instanceof Error ? { error: v.message } : v]));
  const show = (r: Burst | Error) =>
    r instanceof Error
      ? failed(r)
      : `${int(r.deliveriesPerSecond)}/s (bursts: ${r.bursts.map((b) => int(b)).join(", ")}; lost ${int(r.lost)}, dup ${int(r.duplicates)}${closedNote(r)})`;
  const rate = (r: Burst | Error) => (r instanceof Error ? NaN : r.deliveriesPerSecond);
  const [q, w, s] = [rate(results.quikchat), rate(results.ws), rate(results.socketio)];
  const atLeast = (ratio: number, min: number) => (Number.isNaN(ratio) ? "not measured" : verdict(ratio >= min));
  return [
    row("3", `fan-out: deliveries/s, one room of ${int(fanoutSockets)} sockets on one server process, ${fanoutMessages} messages at once, best of ${context.plan.fanoutBursts} bursts${quick ? " (--quick; full run: 10,000 sockets, 100 messages, 3 bursts)" : ""}`, {
      ours: show(results.quikchat),
      ws: show(results.ws),
      socketio: show(results.socketio),
      ratio: `${times(q, w)} ws, ${times(q, s)} Socket.IO`,
      goal: `≥ 0.8× ws: ${atLeast(q / w, 0.8)}; ≥ 1.5× Socket.IO: ${atLeast(q / s, 1.5)}`,
    }),
  ];
}
