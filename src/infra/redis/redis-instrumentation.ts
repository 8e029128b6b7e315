import type { Redis } from "ioredis";
import type { Counter, Histogram } from "prom-client";
import type { RedisMetrics } from "../metrics/service-metrics.js";

/** The metric children of one command name, made once per name. */
interface CommandSeries {
  readonly count: ReturnType<Counter<"command">["labels"]>;
  readonly latency: ReturnType<Histogram<"operation">["labels"]>;
}

/**
 * An ioredis command while it is timed. ioredis settles a command only through
 * `command.resolve(…)` and `command.reject(…)` method calls, so these are swapped for two shared
 * functions that read the start time from the command itself: timing a command allocates no
 * closure, only its start time.
 */
interface TimedCommand {
  readonly name: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  quikchatStarted?: bigint | undefined;
  quikchatSeries?: CommandSeries;
  quikchatResolve?: (value: unknown) => void;
  quikchatReject?: (error: Error) => void;
}

function observe(command: TimedCommand): void {
  const started = command.quikchatStarted;
  if (started !== undefined) command.quikchatSeries?.latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
  command.quikchatStarted = undefined;
}

function timedResolve(this: TimedCommand, value: unknown): void {
  observe(this);
  this.quikchatResolve!.call(this, value);
}

function timedReject(this: TimedCommand, error: Error): void {
  observe(this);
  this.quikchatReject!.call(this, error);
}

/**
 * Counts every command `redis` sends (`redis_commands_total{command}`) and times it to its reply
 * (`redis_latency_seconds{operation}`): pipelined and MULTI commands one by one, as Redis runs
 * them. Per command: one map look-up, one counter increment, one histogram observation.
 */
export function instrumentRedis(redis: Redis, metrics: RedisMetrics): Redis {
  const series = new Map<string, CommandSeries>();
  const seriesOf = (name: string): CommandSeries => {
    let found = series.get(name);
    if (found === undefined) {
      found = { count: metrics.commands.labels(name), latency: metrics.latency.labels(name) };
      series.set(name, found);
    }
    return found;
  };
  type Send = (this: Redis, command: unknown, stream?: unknown, node?: unknown) => unknown;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
  const send = redis.sendCommand as unknown as Send;
  const timedSend: Send = function (command, stream, node) {
    const timed = command as TimedCommand;
    // A command sent again (after a reconnection) keeps its first start and its wrappers.
    if (timed.quikchatResolve === undefined) {
      const of = seriesOf(timed.name);
      of.count.inc();
      timed.quikchatSeries = of;
      timed.quikchatStarted = process.hrtime.bigint();
      timed.quikchatResolve = timed.resolve;
      timed.quikchatReject = timed.reject;
      timed.resolve = timedResolve;
      timed.reject = timedReject;
    }
    return send.call(this, command, stream, node);
  };
  redis.sendCommand = timedSend;
  return redis;
}
