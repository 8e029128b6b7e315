/**
 * Client processes seen from the benchmark: spreads connections over several workers
 * (./client-worker.ts; a process holds at most ~20,000 open files here), runs a send schedule
 * on the workers that hold the senders, waits for the deliveries, and sums up.
 */
import type { ClientWorkerApi, ConnectResult, Protocol, SendResult, SocketPlan } from "./client-worker.js";
import { forkWorker, type Worker } from "./processes.js";
import { epochMs, summarize, type Summary } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

/** Where a planned socket lives: its worker and its index there. */
interface Placement {
  readonly worker: number;
  readonly index: number;
}

export interface Connected {
  readonly planned: number;
  readonly joined: number;
  readonly failed: number;
  readonly errors: Record<string, number>;
  readonly seconds: number;
}

export interface LoadOptions {
  readonly tag: string;
  /** Indexes (into the connected plans) of the sending sockets and the topic each sends to. */
  readonly senders: readonly { readonly socket: number; readonly topic: string }[];
  /** Messages per second over all senders; Infinity: all at once. */
  readonly rate: number;
  /** Messages in all. */
  readonly count: number;
  readonly contentBytes?: number;
  readonly replyTimeoutMs?: number;
  /**
   * How long after the last send deliveries are waited for at most; the wait ends earlier once
   * all arrived, or when none arrived for 3 s after some had (what is missing then counts as
   * lost), or none at all for 15 s.
   */
  readonly drainMs: number;
}

export interface LoadResult {
  readonly rate: number;
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly sendErrors: Record<string, number>;
  /** Sends per second the schedule achieved. */
  readonly achievedRate: number;
  /** Deliveries owed: each message once to each socket that joined its topic (sender included). */
  readonly expected: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly sendToReceiveMs: Summary;
  readonly sendToReplyMs: Summary;
  /** Deliveries per second from the first send to the last delivery. */
  readonly deliveriesPerSecond: number;
  readonly seconds: number;
  /** Connections open after the run, and those the server closed (or lost) so far, by code or reason. */
  readonly open: number;
  readonly closes: Record<string, number>;
}

/** Adds up counts by key. */
function sumCounts(parts: readonly Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const part of parts) for (const [key, n] of Object.entries(part)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

export class ClientPool {
  private placements: Placement[] = [];
  private plans: SocketPlan[] = [];

  private constructor(private readonly workers: Worker<ClientWorkerApi>[]) {}

  /** Forks `count` client processes. */
  static async start(name: string, count: number): Promise<ClientPool> {
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => forkWorker<ClientWorkerApi>("./client-worker.ts", `${name}-clients-${i}`)));
    return new ClientPool(workers);
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  /**
   * Opens a connection per plan (spread round-robin over the workers) and joins its topics; with
   * `deferJoins`, only opens them (`joined` then counts the open ones) until {@link joinDeferred}.
   */
  async connect(protocol: Protocol, plans: readonly SocketPlan[], concurrency = 64, deferJoins = false): Promise<Connected> {
    const started = epochMs();
    const byWorker = this.workers.map((): SocketPlan[] => []);
    const placed: Placement[] = plans.map((plan, i) => {
      const worker = i % this.workers.length;
      byWorker[worker]!.push(plan);
      return { worker, index: byWorker[worker]!.length - 1 };
    });
    const results: ConnectResult[] = await Promise.all(this.workers.map((worker, w) => worker.call("connect", { protocol, sockets: byWorker[w]!, concurrency, deferJoins })));
    this.placements.push(...placed.map(({ worker, index }) => ({ worker, index: index + results[worker]!.first })));
    this.plans.push(...plans);
    const errors = sumCounts(results.map((r) => r.errors));
    const joined = results.reduce((sum, r) => sum + r.joined, 0);
    return { planned: plans.length, joined, failed: plans.length - joined, errors, seconds: (epochMs() - started) / 1000 };
  }

  /** Joins the topics of the connections opened with `deferJoins`. */
  async joinDeferred(concurrency = 64): Promise<Connected> {
    const started = epochMs();
    const results = await Promise.all(this.workers.map((worker) => worker.call("joinDeferred", { concurrency })));
    const errors = sumCounts(results.map((r) => r.errors));
    const joined = results.reduce((sum, r) => sum + r.joined, 0);
    const planned = joined + results.reduce((sum, r) => sum + r.failed, 0);
    return { planned, joined, failed: planned - joined, errors, seconds: (epochMs() - started) / 1000 };
  }

  /** Connections still open, over every worker. */
  async open(): Promise<number> {
    return (await Promise.all(this.workers.map((worker) => worker.call("stats", null)))).reduce((sum, s) => sum + s.open, 0);
  }

  /** Runs one send schedule and waits for its deliveries (see {@link LoadOptions}). */
  async load(options: LoadOptions): Promise<LoadResult> {
    const { tag } = options;
    await Promise.all(this.workers.map((worker) => worker.call("reset", tag)));
    const sendersOf = this.workers.map((): { connection: number; topic: string }[] => []);
    for (const { socket, topic } of options.senders) {
      const placement = this.placements[socket]!;
      sendersOf[placement.worker]!.push({ connection: placement.index, topic });
    }
    // Each worker sends its share of the messages at its share of the rate.
    const total = options.senders.length;
    let assigned = 0;
    const shares = sendersOf.map((senders, w) => {
      const count = w === sendersOf.length - 1 ? options.count - assigned : Math.round((options.count * senders.length) / total);
      assigned += count;
      return { worker: this.workers[w]!, senders, count, rate: (options.rate * senders.length) / total };
    });
    const sendResults: SendResult[] = await Promise.all(
      shares
        .filter(({ senders, count }) => senders.length > 0 && count > 0)
        .map(({ worker, senders, count, rate }) =>
          worker.call("send", { tag, senders, count, rate, contentBytes: options.contentBytes ?? 200, replyTimeoutMs: options.replyTimeoutMs ?? 10_000 }),
        ),
    );
    const members = new Map<string, number>();
    for (const plan of this.plans) for (const topic of plan.topics) members.set(topic, (members.get(topic) ?? 0) + 1);
    let expected = 0;
    for (const result of sendResults) for (const [topic, n] of Object.entries(result.byTopic)) expected += n * (members.get(topic) ?? 0);

    const sentEnd = epochMs();
    for (let last = -1, progressAt = sentEnd; ; await sleep(100)) {
      const stats = await Promise.all(this.workers.map((worker) => worker.call("stats", null)));
      const now = epochMs();
      const so = stats.reduce((sum, s) => sum + s.received, 0);
      if (so !== last) [last, progressAt] = [so, now];
      const stalled = so > 0 ? now - progressAt > 3_000 : now - sentEnd > 15_000;
      if (so >= expected || now - sentEnd > options.drainMs || stalled) break;
    }
    const collected = await Promise.all(this.workers.map((worker) => worker.call("collect", null)));
    const received = collected.reduce((sum, c) => sum + c.received, 0);
    const sent = sendResults.reduce((sum, r) => sum + r.sent, 0);
    const firstSentAt = Math.min(...sendResults.map((r) => r.firstSentAt));
    const lastAt = Math.max(...collected.map((c) => c.lastAt).filter((at) => !Number.isNaN(at)), firstSentAt);
    const sendErrors = sumCounts(sendResults.map((r) => r.errors));
    const sendSeconds = Math.max(...sendResults.map((r) => r.seconds));
    return {
      rate: options.rate,
      sent,
      acked: sendResults.reduce((sum, r) => sum + r.acked, 0),
      failed: sendResults.reduce((sum, r) => sum + r.failed, 0),
      sendErrors,
      achievedRate: sendSeconds > 0 ? Math.round(sent / sendSeconds) : Infinity,
      expected,
      received,
      lost: Math.max(0, expected - received),
      duplicates: collected.reduce((sum, c) => sum + c.duplicates, 0),
      sendToReceiveMs: summarize(collected.map((c) => c.latencies)),
      sendToReplyMs: summarize(sendResults.map((r) => r.replyMs)),
      deliveriesPerSecond: lastAt > firstSentAt ? Math.round(received / ((lastAt - firstSentAt) / 1000)) : 0,
      seconds: sendSeconds,
      open: collected.reduce((sum, c) => sum + c.open, 0),
      closes: sumCounts(collected.map((c) => c.closes)),
    };
  }

  /**
   * Ends the worker processes; `graceful` closes every connection first (close handshakes),
   * otherwise the connections drop with their process, which is much faster for thousands.
   */
  async stop(graceful = true): Promise<void> {
    if (graceful) await Promise.allSettled(this.workers.map((worker) => worker.call("closeAll", null)));
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }
}
