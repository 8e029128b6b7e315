/**
 * Row 4: idle memory per connection. N connections (conversations of 10 members), each joined
 * to its conversation's channel and to its own `user:<id>` channel (rooms `room:<c>` and
 * `user:<id>` on the baselines), spread over several server processes — fresh `--role gateway`
 * processes for QuikChat — since one process holds at most ~20,000 open files here. Memory is
 * the servers' resident set: (RSS after the connections have idled − RSS before) / connections.
 */
import { randomUUID } from "node:crypto";
import type { SocketPlan } from "./client-worker.js";
import { ClientPool } from "./client-pool.js";
import { attempt, attemptOurs, range, requireOurs, type Context } from "./context.js";
import { forkWorker, rssBytes } from "./processes.js";
import { failed, int, row, times, verdict, type Row } from "./report.js";
import type { KafkaSeedApi } from "./kafka-seed.js";
import { memberCount, startService } from "./service.js";
import { freePort } from "../bench-support.js";
import { mapLimit } from "./stats.js";
import { heapGrowth, takeHeapSnapshot } from "./heap-snapshots.js";
import { sleep } from "../../src/platform/sleep.js";

type ServerApi = { listen: (args: { port: number }) => Promise<void> };

interface MemoryResult {
  readonly processes: number;
  readonly planned: number;
  readonly joined: number;
  /** Connections still open when memory was read. */
  readonly open: number;
  readonly errors: Record<string, number>;
  readonly connectSeconds: number;
  readonly rssBeforeBytes: readonly number[];
  readonly rssAfterBytes: readonly number[];
  readonly bytesPerConnection: number;
}

const MEMBERS = 10;
const user = (c: number, m: number) => `mem-${c}-${m}`;

/** Connects the planned sockets to `servers` (socket i to server i mod n), idles, reads memory. */
async function hold(
  context: Context,
  label: string,
  protocol: "phoenix" | "socketio",
  urls: readonly string[],
  rss: () => number[],
  topicsOf: (c: number, m: number) => string[],
  snapshot?: (moment: "before" | "after") => Promise<void>,
): Promise<MemoryResult> {
  const { connections, idleMs, socketsPerClientProcess } = context.plan;
  const plans: SocketPlan[] = range(connections).map((i) => {
    const [c, m] = [Math.floor(i / MEMBERS), i % MEMBERS];
    return { url: urls[i % urls.length]!, user: user(c, m), topics: topicsOf(c, m) };
  });
  await sleep(2_000);
  const rssBeforeBytes = rss();
  await snapshot?.("before");
  const pool = await ClientPool.start(`${label}-memory`, Math.ceil(connections / socketsPerClientProcess));
  try {
    context.progress(`  ${label}: connecting ${int(connections)} sockets to ${urls.length} processes`);
    const connected = await pool.connect(protocol, plans, 50);
    context.progress(`  ${label}: ${int(connected.joined)} joined in ${connected.seconds.toFixed(1)} s; idle ${idleMs / 1000} s`);
    await sleep(idleMs);
    const rssAfterBytes = rss();
    const open = await pool.open();
    await snapshot?.("after");
    const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
    return {
      processes: urls.length,
      planned: connected.planned,
      joined: connected.joined,
      open,
      errors: connected.errors,
      connectSeconds: connected.seconds,
      rssBeforeBytes,
      rssAfterBytes,
      bytesPerConnection: open > 0 ? (sum(rssAfterBytes) - sum(rssBeforeBytes)) / open : NaN,
    };
  } finally {
    await pool.stop(false);
  }
}

/**
 * Creates `count` conversations of MEMBERS with CreateConversation commands written to Kafka in
 * one go, and resolves once the membership read model shows every one of them.
 */
async function createInBulk(context: Context, base: string, count: number): Promise<string[]> {
  const ids = range(count).map(() => randomUUID());
  const seeder = await forkWorker<KafkaSeedApi>("./kafka-seed.ts", "seed-conversations");
  try {
    const conversations = ids.map((id, c) => ({ id, owner: user(c, 0), members: range(MEMBERS).slice(1).map((m) => user(c, m)) }));
    await seeder.call("createConversations", { prefix: context.prefix, workspace: "bench", conversations });
  } finally {
    await seeder.stop();
  }
  const deadline = Date.now() + 180_000;
  const waitFor = async (conversations: number[]) => {
    for (let pending = conversations; pending.length > 0; await sleep(500)) {
      if (Date.now() > deadline) throw new Error(`${pending.length} of ${count} conversations not in the membership read model after 180 s`);
      const members = await mapLimit(pending, 32, (c) => memberCount(base, user(c, 0), ids[c]!).catch(() => 0));
      pending = pending.filter((_, i) => members[i]! < MEMBERS);
      if (pending.length === 0) return;
    }
  };
  // Commands of a partition are decided in order: once the newest few show, nearly all do.
  await waitFor(range(count).slice(-32));
  await waitFor(range(count));
  return ids;
}

/** Prints (and keeps in the raw results) what the first gateway's heap gained per connection, by kind. */
function reportHeapGrowth(context: Context, before: string, after: string, connections: number): void {
  const growth = heapGrowth(before, after).slice(0, 25);
  const total = heapGrowth(before, after).reduce((sum, g) => sum + g.bytes, 0);
  context.raw.memoryHeap = { before, after, connections, bytesPerConnection: total / connections, top: growth.map((g) => ({ ...g, bytesPerConnection: g.bytes / connections })) };
  context.progress(`  QuikChat heap growth per connection (first gateway, ${int(connections)} connections, live objects): ${(total / connections / 1024).toFixed(1)} KB`);
  for (const g of growth) context.progress(`    ${(g.bytes / connections).toFixed(0).padStart(6)} B  ${(g.count / connections).toFixed(2).padStart(6)} ×  ${g.group}`);
}

const processCount = (context: Context) => Math.max(2, Math.ceil(context.plan.connections / context.plan.connectionsPerServerProcess));

async function ours(context: Context): Promise<MemoryResult> {
  const { core } = requireOurs(context);
  const processes = processCount(context);
  const conversations = Math.ceil(context.plan.connections / MEMBERS);
  context.progress(`  QuikChat: ${processes} fresh gateway processes, ${int(conversations)} conversations of ${MEMBERS}`);
  const gateways = await Promise.all(range(processes).map((i) => startService(`memory-gateway-${i}`, "gateway", context.prefix, context.logDir)));
  const dir = process.env.HEAP_SNAPSHOT_DIR;
  const snapshots: Partial<Record<"before" | "after", string>> = {};
  try {
    const ids = await createInBulk(context, core.base, conversations);
    const result = await hold(
      context,
      "quikchat",
      "phoenix",
      gateways.map((g) => g.socketUrl),
      () => gateways.map((g) => g.rss()),
      (c, m) => [`chat:${ids[c]}`, `user:${user(c, m)}`],
      dir === undefined ? undefined : async (moment) => void (snapshots[moment] = await takeHeapSnapshot(gateways[0]!.pid, dir)),
    );
    if (snapshots.before !== undefined && snapshots.after !== undefined) reportHeapGrowth(context, snapshots.before, snapshots.after, result.open / processes);
    return result;
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
  }
}

async function baseline(context: Context, kind: "ws" | "socketio"): Promise<MemoryResult> {
  const processes = processCount(context);
  const servers = await Promise.all(range(processes).map((i) => forkWorker<ServerApi>(kind === "ws" ? "./ws-broadcast-server.ts" : "./socketio-server.ts", `${kind}-memory-server-${i}`)));
  try {
    const urls = await Promise.all(
      servers.map(async (server) => {
        const port = await freePort();
        await server.call("listen", { port });
        return kind === "ws" ? `ws://127.0.0.1:${port}/socket/websocket` : `http://127.0.0.1:${port}`;
      }),
    );
    return await hold(
      context,
      kind,
      kind === "ws" ? "phoenix" : "socketio",
      urls,
      () => servers.map((s) => rssBytes(s.pid)),
      (c, m) => [`room:${c}`, `user:${user(c, m)}`],
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

export async function memorySection(context: Context): Promise<Row[]> {
  context.progress(`4. idle memory at ${int(context.plan.connections)} connections`);
  const results = {
    quikchat: await attemptOurs(context, () => ours(context)),
    ws: await attempt(() => baseline(context, "ws")),
    socketio: await attempt(() => baseline(context, "socketio")),
  };
  context.raw.memory = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v instanceof Error ? { error: v.message } : v]));
  const kb = (r: MemoryResult | Error) => (r instanceof Error ? NaN : r.bytesPerConnection / 1024);
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const perConnection = (r: MemoryResult | Error) =>
    r instanceof Error ? failed(r) : `${kb(r).toFixed(1)} KB (RSS ${int(sum(r.rssBeforeBytes) / 2 ** 20)} → ${int(sum(r.rssAfterBytes) / 2 ** 20)} MB)`;
  const held = (r: MemoryResult | Error) => {
    if (r instanceof Error) return failed(r);
    const errors = Object.entries(r.errors).map(([reason, n]) => `${reason} ×${int(n)}`).join(", ");
    const closed = r.joined - r.open;
    return (
      `${int(r.open)} of ${int(r.planned)} on ${r.processes} processes (${int(r.planned / r.processes)} each), joined in ${r.connectSeconds.toFixed(1)} s` +
      `${closed > 0 ? `; ${int(closed)} closed by the server while idle` : ""}${errors ? `; failed: ${errors}` : ""}`
    );
  };
  const [q, w, s] = [kb(results.quikchat), kb(results.ws), kb(results.socketio)];
  return [
    row("4", "idle memory per connection (joined to a chat channel and its user channel), server RSS", {
      ours: perConnection(results.quikchat),
      ws: perConnection(results.ws),
      socketio: perConnection(results.socketio),
      ratio: `${times(q, w)} ws, ${times(q, s)} Socket.IO`,
      goal: `≤ 12 KB: ${Number.isNaN(q) ? "not measured" : verdict(q <= 12)}; ≤ 1.5× ws: ${Number.isNaN(q / w) ? "not measured" : verdict(q / w <= 1.5)}`,
    }),
    row("4", "connections held at once (largest count reached, across server processes)", {
      ours: held(results.quikchat),
      ws: held(results.ws),
      socketio: held(results.socketio),
      goal: `≥ 20,000: ${results.quikchat instanceof Error ? "not measured" : verdict(results.quikchat.open >= 20_000)}`,
    }),
  ];
}
