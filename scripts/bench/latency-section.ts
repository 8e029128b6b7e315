/**
 * Rows 1 and 2: send→receive and send→reply latency, loss and duplicates at fixed total rates
 * over conversations of 10 members (two senders each), for QuikChat, the bare `ws` server,
 * Socket.IO, and the Kafka produce→consume floor, with the CPU each rate step cost every process
 * (see ./cost-rows.ts); then the highest rate QuikChat sustains with p99 under the target (a
 * short step search from the fixed rates).
 */
import type { SocketPlan } from "./client-worker.js";
import { ClientPool, type LoadResult } from "./client-pool.js";
import { attempt, attemptOurs, range, requireOurs, type Context } from "./context.js";
import { ALL_ROLES, costRows, LOAD, SERVICE, type Cost } from "./cost-rows.js";
import { CpuMeter, type CpuUse, type MeterList, type Metered } from "./cpu-meter.js";
import type { FloorResult, KafkaFloorApi, KafkaLib } from "./kafka-floor.js";
import { forkWorker } from "./processes.js";
import { failed, int, latency, ms, row, times, verdict, type Row } from "./report.js";
import { createConversation } from "./service.js";
import { stackProcesses } from "./stack-processes.js";
import { freePort } from "../bench-support.js";
import { mapLimit } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

type ServerApi = { listen: (args: { port: number }) => Promise<void> };

interface Layout {
  readonly plans: SocketPlan[];
  readonly senders: { socket: number; topic: string }[];
}

/** Conversation c's member m is socket c·members + m; members 0… sendersPerConversation−1 send. */
function layout(context: Context, topicOf: (c: number) => string, urlOf: (socket: number) => string, userOf: (c: number, m: number) => string): Layout {
  const { conversations, members, sendersPerConversation } = context.plan;
  const plans: SocketPlan[] = [];
  const senders: Layout["senders"] = [];
  for (const c of range(conversations)) {
    for (const m of range(members)) {
      const socket = plans.length;
      plans.push({ url: urlOf(socket), user: userOf(c, m), topics: [topicOf(c)] });
      if (m < sendersPerConversation) senders.push({ socket, topic: topicOf(c) });
    }
  }
  return { plans, senders };
}

/** The speed issue's goals: send→receive p99 at the rates that have one, and the sustained rate. */
const P99_GOAL_MS = new Map([
  [500, 50],
  [2_000, 100],
]);
const SUSTAINED_GOAL = 1_000;

/** Meets the latency target with nothing lost, duplicated, refused or behind schedule. */
const sustains = (result: LoadResult, targetMs: number) =>
  result.sendToReceiveMs.count > 0 &&
  result.sendToReceiveMs.p99 < targetMs &&
  result.lost === 0 &&
  result.duplicates === 0 &&
  result.failed === 0 &&
  result.achievedRate >= 0.95 * result.rate;

interface Measured {
  readonly byRate: Map<number, LoadResult>;
  readonly cost: Cost;
  readonly search?: Search | Error;
}

interface Search {
  readonly sustained: number;
  readonly p99Ms: number;
  readonly tried: readonly { rate: number; p99Ms: number; lost: number; failed: number; achievedRate: number; sustained: boolean }[];
}

/** A rate step: its load's result and what it cost. */
interface Step {
  readonly rate: number;
  readonly result: LoadResult;
  readonly cpu: CpuUse | Error;
}

class LatencyRunner {
  private runs = 0;
  /** Every rate step so far, in order. */
  readonly steps: Step[] = [];

  /**
   * @param settleBetween whether a step ends with {@link settle}: QuikChat's backlog is worked off
   * after the sends, and what that costs belongs to the step's messages
   */
  constructor(
    private readonly context: Context,
    private readonly pool: ClientPool,
    private readonly layout: Layout,
    private readonly label: string,
    private readonly meter: CpuMeter,
    private readonly settleBetween: boolean,
  ) {}

  private at(rate: number, seconds = this.context.plan.seconds): Promise<LoadResult> {
    this.runs += 1;
    this.context.progress(`  ${this.label}: ${int(rate)} msg/s for ${seconds} s`);
    return this.pool.load({ tag: `${this.label}-${rate}-${this.runs}`, senders: this.layout.senders, rate, count: Math.round(rate * seconds), drainMs: this.context.plan.drainMs });
  }

  /**
   * One rate step, metered from its first send until its deliveries are in (and, with
   * `settleBetween`, the service has settled again); the messages it cost are those sent, the
   * settling probes' included.
   */
  async step(rate: number): Promise<LoadResult> {
    const window = syncAttempt(() => this.meter.start());
    const result = await this.at(rate);
    const probes = this.settleBetween ? await this.settle(this.context.plan.settleMs.between) : 0;
    const cpu = window instanceof Error ? window : syncAttempt(() => window.stop(result.sent + probes));
    this.steps.push({ rate, result, cpu });
    return result;
  }

  /** A load at `rate` for `seconds` that no row counts: what a first step would otherwise pay for cold code. */
  async warmUp(rate: number, seconds: number): Promise<void> {
    await this.at(rate, seconds);
  }

  /** What every process spends over `ms` with nothing sent. */
  async idle(ms: number): Promise<CpuUse | Error> {
    const window = syncAttempt(() => this.meter.start());
    await sleep(ms);
    return window instanceof Error ? window : syncAttempt(() => window.stop(0));
  }

  /**
   * Low-rate probes (100 msg/s for a second) until the service is steady: the roles have settled
   * after start, or worked off what an overloaded run left queued. Steady: a probe delivers
   * everything, with p99 under 100 ms or no more than 1.25× the previous complete probe's (the
   * latency no longer falls as a backlog drains). Resolves with the messages the probes sent.
   */
  async settle(maxMs: number): Promise<number> {
    let previous = Infinity;
    let sent = 0;
    for (const deadline = Date.now() + maxMs; Date.now() < deadline; await sleep(500)) {
      this.runs += 1;
      const probe = await this.pool.load({ tag: `${this.label}-settle-${this.runs}`, senders: this.layout.senders, rate: 100, count: 100, drainMs: 3_000 });
      sent += probe.sent;
      const complete = probe.lost === 0 && probe.failed === 0;
      const p99 = complete ? probe.sendToReceiveMs.p99 : Infinity;
      if (complete && (p99 < 100 || (Number.isFinite(previous) && p99 <= 1.25 * previous))) return sent;
      previous = p99;
    }
    return sent;
  }
}

/** Runs `work`, turning a failure into the Error it threw. */
function syncAttempt<T>(work: () => T): T | Error {
  try {
    return work();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Connects the layout's sockets, lets the server settle, reads what every process costs with no
 * load, then runs each fixed rate (and, for QuikChat, the search). `servers` are the processes of
 * the system under test, metered with the stack's servers and the client processes.
 */
async function measure(context: Context, label: string, protocol: "phoenix" | "socketio", layout: Layout, ours: boolean, servers: readonly Metered[]): Promise<Measured> {
  const pool = await ClientPool.start(label, 2);
  try {
    const connected = await pool.connect(protocol, layout.plans, 32);
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${connected.planned} sockets failed to connect/join: ${JSON.stringify(connected.errors)}`);
    const clients = pool.pids.map((pid, i): Metered => ({ group: LOAD, name: `${label}-clients-${i}`, pid }));
    const meter = new CpuMeter((): MeterList => {
      const stack = stackProcesses(context.config);
      return { processes: [...servers, ...stack.processes, ...clients], missing: stack.missing };
    });
    const runner = new LatencyRunner(context, pool, layout, label, meter, ours);
    await runner.settle(ours ? context.plan.settleMs.first : 3_000);
    await runner.warmUp(context.plan.rates[0]!, context.plan.warmUpSeconds);
    await runner.settle(ours ? context.plan.settleMs.between : 3_000);
    const idle = await runner.idle(context.plan.idleCpuMs);
    const byRate = new Map<number, LoadResult>();
    for (const rate of context.plan.rates) byRate.set(rate, await runner.step(rate));
    const searched = ours ? await attempt(() => search(context, runner, [...byRate.values()])) : undefined;
    const cost: Cost = { byRate: new Map(runner.steps.filter((s) => byRate.get(s.rate) === s.result).map((s) => [s.rate, s.cpu])), idle };
    if (ours) {
      if (!(idle instanceof Error)) context.serviceSteps.push({ label: "no load", cpu: idle });
      for (const { rate, cpu } of runner.steps) if (!(cpu instanceof Error)) context.serviceSteps.push({ label: `${int(rate)} msg/s`, cpu });
    }
    const costs = (context.raw.cost ??= {}) as Record<string, unknown>;
    costs[label] = { idle: idle instanceof Error ? { error: idle.message } : idle, steps: runner.steps.map(({ rate, cpu }) => ({ rate, cpu: cpu instanceof Error ? { error: cpu.message } : cpu })) };
    return searched === undefined ? { byRate, cost } : { byRate, cost, search: searched };
  } finally {
    await pool.stop();
  }
}

/** From the fixed rates' results, a few more rates between the best that passed and the first that failed (or above). */
async function search(context: Context, runner: LatencyRunner, results: LoadResult[]): Promise<Search> {
  const target = context.plan.p99TargetMs;
  const tried = [...results];
  for (let step = 0; step < context.plan.searchSteps; step += 1) {
    const best = Math.max(0, ...tried.filter((r) => sustains(r, target)).map((r) => r.rate));
    const above = tried.filter((r) => r.rate > best && !sustains(r, target)).map((r) => r.rate);
    const worst = above.length > 0 ? Math.min(...above) : undefined;
    let next: number;
    if (worst === undefined) next = best * 2;
    else if (best === 0) next = Math.floor(worst / 2);
    else if (worst / best <= 1.25) break;
    else next = Math.sqrt(best * worst);
    next = next >= 1_000 ? Math.round(next / 100) * 100 : Math.max(10, Math.round(next / 10) * 10);
    if (next <= 10 || tried.some((r) => r.rate === next)) break;
    tried.push(await runner.step(next));
  }
  const passing = tried.filter((r) => sustains(r, target)).sort((a, b) => b.rate - a.rate);
  return {
    sustained: passing[0]?.rate ?? 0,
    p99Ms: passing[0]?.sendToReceiveMs.p99 ?? NaN,
    tried: tried.map((r) => ({ rate: r.rate, p99Ms: r.sendToReceiveMs.p99, lost: r.lost, failed: r.failed, achievedRate: r.achievedRate, sustained: sustains(r, target) })),
  };
}

async function measureOurs(context: Context): Promise<Measured> {
  const { core, gateways } = requireOurs(context);
  const { conversations, members } = context.plan;
  const user = (c: number, m: number) => `lat-${c}-${m}`;
  context.progress(`  QuikChat: creating ${conversations} conversations of ${members}`);
  const ids = await mapLimit(range(conversations), 8, (c) => createConversation(core.base, user(c, 0), range(members).slice(1).map((m) => user(c, m))));
  // Members alternate between the gateway processes: deliveries cross gateways as they do in production.
  const plan = layout(context, (c) => `chat:${ids[c]}`, (socket) => gateways[socket % gateways.length]!.socketUrl, user);
  const servers: Metered[] = [
    { group: SERVICE, name: ALL_ROLES, pid: core.pid, threads: true },
    ...gateways.map((g): Metered => ({ group: SERVICE, name: g.name, pid: g.pid, threads: true })),
  ];
  return measure(context, "quikchat", "phoenix", plan, true, servers);
}

async function measureBaseline(context: Context, kind: "ws" | "socketio"): Promise<Measured> {
  const server = await forkWorker<ServerApi>(kind === "ws" ? "./ws-broadcast-server.ts" : "./socketio-server.ts", `${kind}-server`);
  try {
    const port = await freePort();
    await server.call("listen", { port });
    const url = kind === "ws" ? `ws://127.0.0.1:${port}/socket/websocket` : `http://127.0.0.1:${port}`;
    const plan = layout(context, (c) => `room:${c}`, () => url, (c, m) => `lat-${c}-${m}`);
    return await measure(context, kind, kind === "ws" ? "phoenix" : "socketio", plan, false, [{ group: SERVICE, name: server.name, pid: server.pid, threads: true }]);
  } finally {
    await server.stop();
  }
}

async function measureFloor(context: Context, lib: KafkaLib): Promise<Map<number, FloorResult>> {
  context.progress(`  Kafka floor (${lib})`);
  const worker = await forkWorker<KafkaFloorApi>("./kafka-floor.ts", `floor-${lib}`);
  try {
    const results = await worker.call("floor", { lib, brokers: context.config.kafka.brokers, topic: `${context.prefix}bench.floor.${lib}`, rates: context.plan.rates, seconds: context.plan.seconds });
    return new Map(results.map((result) => [result.rate, result]));
  } finally {
    await worker.stop();
  }
}

export async function latencySection(context: Context): Promise<Row[]> {
  context.progress("1-2. latency at fixed rates, sustained rate");
  const ours = await attemptOurs(context, () => measureOurs(context));
  context.progress("  bare ws");
  const ws = await attempt(() => measureBaseline(context, "ws"));
  context.progress("  Socket.IO");
  const socketio = await attempt(() => measureBaseline(context, "socketio"));
  const kafkajs = await attempt(() => measureFloor(context, "kafkajs"));
  const rdkafka = await attempt(() => measureFloor(context, "rdkafka"));
  const plain = <T>(value: T | Error) => (value instanceof Error ? { error: value.message } : value);
  const byRate = (m: Measured | Error) => (m instanceof Error ? { error: m.message } : Object.fromEntries(m.byRate));
  context.raw.latency = {
    quikchat: byRate(ours),
    ws: byRate(ws),
    socketio: byRate(socketio),
    kafkajs: kafkajs instanceof Error ? plain(kafkajs) : Object.fromEntries(kafkajs),
    rdkafka: rdkafka instanceof Error ? plain(rdkafka) : Object.fromEntries(rdkafka),
  };
  context.raw.sustained = plain(ours instanceof Error ? ours : ours.search!);

  const cell = <T>(source: Map<number, T> | Error, rate: number, show: (value: T) => string) => {
    if (source instanceof Error) return failed(source);
    const value = source.get(rate);
    return value === undefined ? "not run" : show(value);
  };
  const results = (m: Measured | Error) => (m instanceof Error ? m : m.byRate);
  const p99 = (m: Measured | Error, rate: number, pick: (r: LoadResult) => number) => (m instanceof Error ? NaN : pick(m.byRate.get(rate)!));
  const ratios = (rate: number, pick: (r: LoadResult) => number) =>
    `p99 ${times(p99(ours, rate, pick), p99(ws, rate, pick))} ws, ${times(p99(ours, rate, pick), p99(socketio, rate, pick))} Socket.IO`;
  const floorP99 = (floor: Map<number, FloorResult> | Error, rate: number) => (floor instanceof Error ? NaN : (floor.get(rate)?.latencyMs.p99 ?? NaN));
  const receiveRatios = (rate: number) => {
    const q = p99(ours, rate, (r) => r.sendToReceiveMs.p99);
    return `${ratios(rate, (r) => r.sendToReceiveMs.p99)}, ${times(q, floorP99(kafkajs, rate))} kafkajs floor, ${times(q, floorP99(rdkafka, rate))} rdkafka floor`;
  };
  const loss = (r: LoadResult) => {
    const failures = r.failed > 0 ? `; ${int(r.failed)} sends failed (${Object.entries(r.sendErrors).map(([k, n]) => `${k} ${int(n)}`).join(", ")})` : "";
    const behind = r.achievedRate < 0.95 * r.rate ? `; sent at ${int(r.achievedRate)}/s` : "";
    return `${int(r.lost)} / ${int(r.duplicates)} of ${int(r.expected)}${failures}${behind}`;
  };
  const rows: Row[] = [];
  for (const rate of context.plan.rates) {
    const at = `@ ${int(rate)} msg/s`;
    const p99Goal = P99_GOAL_MS.get(rate);
    const goal =
      p99Goal === undefined
        ? "—"
        : `p99 ≤ ${int(p99Goal)} ms: ${ours instanceof Error ? "not measured" : verdict(ours.byRate.get(rate)!.sendToReceiveMs.p99 <= p99Goal)}`;
    rows.push(
      row("1", `send→receive ${at}, p50 / p99 / max ms`, {
        ours: cell(results(ours), rate, (r) => latency(r.sendToReceiveMs)),
        ws: cell(results(ws), rate, (r) => latency(r.sendToReceiveMs)),
        socketio: cell(results(socketio), rate, (r) => latency(r.sendToReceiveMs)),
        kafkajs: cell(kafkajs, rate, (r) => latency(r.latencyMs)),
        rdkafka: cell(rdkafka, rate, (r) => latency(r.latencyMs)),
        ratio: receiveRatios(rate),
        goal,
      }),
      row("1", `send→reply ${at}, p50 / p99 / max ms`, {
        ours: cell(results(ours), rate, (r) => latency(r.sendToReplyMs)),
        ws: cell(results(ws), rate, (r) => latency(r.sendToReplyMs)),
        socketio: cell(results(socketio), rate, (r) => latency(r.sendToReplyMs)),
        ratio: ratios(rate, (r) => r.sendToReplyMs.p99),
      }),
      row("1", `lost / duplicated deliveries ${at} (lost: not delivered ${context.plan.drainMs / 1000} s after the last send)`, {
        ours: cell(results(ours), rate, loss),
        ws: cell(results(ws), rate, loss),
        socketio: cell(results(socketio), rate, loss),
        kafkajs: cell(kafkajs, rate, (r) => `${int(r.lost)} lost of ${int(r.produced)}`),
        rdkafka: cell(rdkafka, rate, (r) => `${int(r.lost)} lost of ${int(r.produced)}`),
        goal: `each member gets each message once: ${ours instanceof Error ? "not measured" : verdict(ours.byRate.get(rate)!.lost === 0 && ours.byRate.get(rate)!.duplicates === 0)}`,
      }),
    );
  }
  const cost = (m: Measured | Error) => (m instanceof Error ? m : m.cost);
  rows.push(...costRows(context.plan.rates, context.plan.idleCpuMs / 1000, cost(ours), cost(ws), cost(socketio)));
  const found = ours instanceof Error ? ours : ours.search!;
  rows.push(
    row("2", `highest sustained rate with send→receive p99 < ${context.plan.p99TargetMs} ms (nothing lost, ${context.plan.seconds} s per step)`, {
      ours:
        found instanceof Error
          ? failed(found)
          : `${found.sustained > 0 ? `${int(found.sustained)} msg/s (p99 ${ms(found.p99Ms)} ms)` : `below ${int(Math.min(...found.tried.map((t) => t.rate)))} msg/s`}; tried ${found.tried.map((t) => `${int(t.rate)}${t.sustained ? "✓" : "✗"}`).join(" ")}`,
      goal: `≥ ${int(SUSTAINED_GOAL)} msg/s: ${found instanceof Error ? "not measured" : verdict(found.sustained >= SUSTAINED_GOAL)}`,
    }),
  );
  return rows;
}
