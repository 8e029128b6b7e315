/** What every section of the benchmark shares: the plan (sizes and durations), the service under test, raw results. */
import type { Config } from "../../src/contexts/index.js";
import type { CpuUse } from "./cpu-meter.js";
import type { ServiceProcess } from "./service.js";

/** Sizes and durations of one run; `--quick` shrinks some of them. */
export interface Plan {
  readonly quick: boolean;
  /** Total send rates (msg/s) of the latency rows. */
  readonly rates: readonly number[];
  /** How long each rate is held. */
  readonly seconds: number;
  /** How long deliveries are waited for at most after the last send of a latency run (see LoadOptions.drainMs). */
  readonly drainMs: number;
  /** How long the CPU of every process is read with no load, before the first rate (the background of the cost rows). */
  readonly idleCpuMs: number;
  /**
   * An unmetered load at the first rate, held this long before the idle reading: the first
   * measured step should not pay for the Kafka broker's JIT compiling its transaction paths (a
   * broker started minutes before doubled the first step's latency and broker CPU).
   */
  readonly warmUpSeconds: number;
  /** How long QuikChat may take to work off a run's backlog before the next run starts anyway. */
  readonly settleMs: { readonly first: number; readonly between: number };
  /** Conversations of the latency rows, their members, and the members of each that send. */
  readonly conversations: number;
  readonly members: number;
  readonly sendersPerConversation: number;
  /** Extra rates tried when searching the highest rate with p99 under `p99TargetMs`. */
  readonly searchSteps: number;
  readonly p99TargetMs: number;
  readonly fanoutSockets: number;
  readonly fanoutMessages: number;
  readonly fanoutBursts: number;
  /** Idle connections of the memory row, over several server processes of at most `connectionsPerServerProcess`. */
  readonly connections: number;
  readonly connectionsPerServerProcess: number;
  readonly socketsPerClientProcess: number;
  /** Idle time after the last connection opened and before memory is read. */
  readonly idleMs: number;
  readonly presenceSamples: number;
  /** Calls of the call setup row, made one after the other. */
  readonly calls: number;
  readonly rebuildEvents: number;
  /**
   * The notify latency row: conversations of one connected sender and offline recipients (each
   * with an iPhone and an Android phone), one message per conversation every `intervalMs` (wider
   * than the default batching window, so each message is its own burst) for `rounds` rounds
   * after one uncounted round, once per batching window in `windowsMs`.
   */
  readonly notify: { readonly conversations: number; readonly recipients: number; readonly rounds: number; readonly intervalMs: number; readonly windowsMs: readonly number[] };
  /** A section still running after this long is abandoned (its processes stopped) and the run goes on. */
  readonly sectionLimitMs: number;
}

export function makePlan(quick: boolean, overrides: { connections?: number; fanoutSockets?: number; rebuildEvents?: number; openFiles: number }): Plan {
  // One process holds at most `openFiles` descriptors: leave room for its other files and connections.
  const perServer = Math.max(1_000, Math.min(10_000, overrides.openFiles - 2_000));
  return {
    quick,
    rates: [500, 2_000, 5_000],
    seconds: quick ? 3 : 20,
    drainMs: quick ? 5_000 : 30_000,
    idleCpuMs: quick ? 3_000 : 10_000,
    warmUpSeconds: quick ? 3 : 10,
    settleMs: quick ? { first: 15_000, between: 10_000 } : { first: 60_000, between: 30_000 },
    conversations: 50,
    members: 10,
    sendersPerConversation: 2,
    searchSteps: quick ? 1 : 4,
    p99TargetMs: 50,
    fanoutSockets: overrides.fanoutSockets ?? (quick ? 5_000 : 10_000),
    fanoutMessages: quick ? 20 : 100,
    fanoutBursts: quick ? 2 : 3,
    connections: overrides.connections ?? (quick ? 20_000 : 40_000),
    connectionsPerServerProcess: perServer,
    socketsPerClientProcess: Math.min(5_000, perServer),
    idleMs: quick ? 5_000 : 15_000,
    presenceSamples: quick ? 15 : 200,
    calls: quick ? 30 : 200,
    rebuildEvents: overrides.rebuildEvents ?? (quick ? 100_000 : 1_000_000),
    // 1 ms is the smallest window NOTIFY_BATCH_WINDOW_MS takes: the pipeline's own cost.
    notify: { conversations: 20, recipients: 2, rounds: quick ? 2 : 5, intervalMs: 4_000, windowsMs: [2_000, 1] },
    sectionLimitMs: quick ? 480_000 : 2_400_000,
  };
}

/** The service under test: one process with every role (processors, projections, REST) and gateway processes. */
export interface Ours {
  readonly core: ServiceProcess;
  readonly gateways: readonly ServiceProcess[];
}

export interface Context {
  readonly plan: Plan;
  /** Topic prefix of this run (every service process, the floor topics, the rebuild prefix under it). */
  readonly prefix: string;
  readonly logDir: string;
  readonly config: Config;
  /** Why the build or the local stack failed, if it did: a section that starts a service of its own needs both. */
  readonly prepared: Error | undefined;
  /** The running service, or why it could not be started (each row then shows that error). */
  readonly ours: Ours | Error;
  /** Raw results by section, written to the JSON file. */
  readonly raw: Record<string, unknown>;
  /** The windows of the profile budget: the service with no load, then its rate steps as the latency section ran them, with what each cost. */
  readonly serviceSteps: { readonly label: string; readonly cpu: CpuUse }[];
  progress(line: string): void;
}

/** The running service; throws why it is not there (it could not start, or a process of it has exited since). */
export function requireOurs(context: Context): Ours {
  if (context.ours instanceof Error) throw context.ours;
  for (const process of [context.ours.core, ...context.ours.gateways]) {
    const exited = process.exited();
    if (exited !== undefined) throw new Error(exited);
  }
  return context.ours;
}

/**
 * {@link attempt} for work on the service: when it fails because a service process has exited
 * meanwhile (a refused fetch, a timeout), the error says which one and why.
 */
export async function attemptOurs<T>(context: Context, work: () => Promise<T>): Promise<T | Error> {
  const result = await attempt(work);
  if (!(result instanceof Error) || context.ours instanceof Error) return result;
  const exited = [context.ours.core, ...context.ours.gateways].map((p) => p.exited()).find((e) => e !== undefined);
  return exited === undefined || result.message.includes(exited) ? result : new Error(`${result.message} (${exited})`);
}

/** Runs `work`, turning a failure into the Error it threw (a row shows it and the run goes on). */
export async function attempt<T>(work: () => Promise<T>): Promise<T | Error> {
  try {
    return await work();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
