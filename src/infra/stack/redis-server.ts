import { join } from "node:path";
import { pidFileIn, type Answer, type Component } from "./component.js";
import { spawnDetached } from "./process-control.js";
import { tcpExchange } from "./readiness.js";
import { runCommand } from "./run-command.js";
import { StackError } from "./stack-error.js";

export interface RedisOptions {
  readonly host: string;
  readonly port: number;
  /** Holds the pid file and the log of a Redis this stack starts. */
  readonly dir: string;
}

const INFO_SERVER = Buffer.from("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");

/** True once `received` holds one whole RESP reply (simple string, error or bulk string). */
function replyComplete(received: Buffer): boolean {
  const end = received.indexOf("\r\n");
  if (end < 0) return false;
  if (received[0] !== 0x24) return true; // '$'
  const length = Number(received.subarray(1, end).toString());
  return length < 0 || received.length >= end + 2 + length + 2;
}

/**
 * Asks host:port `INFO server`. A Redis answers with the info or, when it wants a password,
 * with an error reply: both count as Redis.
 */
export async function redisAnswers(host: string, port: number, timeoutMs = 2_000): Promise<Answer> {
  const reply = await tcpExchange(host, port, INFO_SERVER, replyComplete, timeoutMs);
  if (reply === undefined) return { ok: false };
  const text = reply.toString("utf8");
  if (/^-(NOAUTH|WRONGPASS|NOPERM)/.test(text)) return { ok: true };
  const version = /redis_version:([^\r\n]+)/.exec(text)?.[1];
  return version === undefined ? { ok: false } : { ok: true, version };
}

/** The Component for Redis: the machine's redis-server when it already runs, else one started without persistence. */
export function redisComponent(o: RedisOptions): Component {
  const logFile = join(o.dir, "redis.log");
  return {
    name: "redis",
    host: o.host,
    port: o.port,
    dir: o.dir,
    logFile,
    // redis-server rewrites its process title to "redis-server host:port".
    marker: "redis-server",
    elsewhere: "set REDIS_URL to a Redis server",
    label: "Redis",
    startTimeoutMs: 30_000,
    stopGraceMs: 10_000,
    answers: () => redisAnswers(o.host, o.port),
    async launch(): Promise<number> {
      if ((await runCommand("redis-server", ["--version"], { timeoutMs: 10_000 })) === undefined) {
        throw new StackError("redis-server not found: apt-get install redis-server, or set REDIS_URL to a Redis server");
      }
      // Not daemonized: spawned detached instead, so the pid and output are ours to keep.
      return spawnDetached({
        command: "redis-server",
        args: ["--daemonize", "no", "--bind", o.host, "--port", String(o.port), "--save", "", "--appendonly", "no", "--dir", o.dir],
        cwd: o.dir,
        logFile,
        pidFile: pidFileIn(o.dir),
      });
    },
  };
}
