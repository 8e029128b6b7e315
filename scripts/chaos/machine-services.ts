/**
 * Stopping and starting the servers the service depends on, as the machine runs them:
 * - Kafka through the local stack's own functions (stackDown/stackUp of a spec holding Kafka
 *   only: a clean stop, then a start on the same data directory);
 * - the machine's Redis (no persistence: a restart loses every key) with `redis-cli shutdown
 *   nosave` and the exact command that started it;
 * - the machine's MariaDB with `mariadb-admin shutdown` and its start-stop-daemon command.
 * {@link restoreAll} puts back whatever is down; {@link leave}, on every way out of the run, first
 * refuses new stops and waits for the one under way. Every wait here is bounded.
 */
import { access } from "node:fs/promises";
import { dirname } from "node:path";
import { createConnection } from "mysql2/promise";
import { loadConfig } from "../../src/contexts/index.js";
import { stackSpecFromConfig } from "../../src/cli/stack-spec.js";
import { mysqlAnswers } from "../../src/infra/stack/mariadb-server.js";
import { redisAnswers } from "../../src/infra/stack/redis-server.js";
import { runCommand } from "../../src/infra/stack/run-command.js";
import { kafkaAnswers, stackDown, stackStatus, stackUp, type StackSpec } from "../../src/infra/stack/stack.js";
import { sleep } from "../../src/platform/sleep.js";

const REDIS_DIR = "/var/lib/redis";
const REDIS_LOG = "/var/log/redis/ci.log";
/** How this machine starts its Redis (nothing on disk: `--save ""`, no AOF). */
const REDIS_START = [
  "redis-server",
  ["--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no", "--dir", REDIS_DIR, "--logfile", REDIS_LOG],
] as const;
/** How this machine starts its MariaDB. */
const MARIADB_START = ["start-stop-daemon", ["--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"]] as const;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

async function run(command: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const result = await runCommand(command, args, { timeoutMs });
  if (result === undefined) throw new Error(`${command} not found`);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.code}: ${result.output.trim()}`);
  return result.output;
}

/** Why this machine cannot run `commands` (each an executable and a harmless argument), or undefined. */
async function missing(commands: readonly (readonly [string, string])[]): Promise<string | undefined> {
  for (const [command, arg] of commands) if ((await runCommand(command, [arg], { timeoutMs: 10_000 })) === undefined) return `${command} not found`;
  return undefined;
}

export class MachineServices {
  private readonly kafkaSpec: StackSpec;
  private readonly redis = { host: "127.0.0.1", port: 6379 };
  private readonly mysql = { host: "127.0.0.1", port: 3306 };
  /** Set on the way out: a fault that would stop a server now is refused. */
  private leaving = false;
  /** The stop under way, if any (settled otherwise): the way out waits for it before it looks. */
  private stopping: Promise<unknown> = Promise.resolve();

  constructor(readonly log: (line: string) => void) {
    const spec = stackSpecFromConfig(loadConfig(process.env));
    if (spec.kafka === undefined) throw new Error("KAFKA_BROKERS does not point at the local stack's broker: the chaos run restarts it, so it must be ours");
    this.kafkaSpec = { dir: spec.dir, ...(spec.javaHome === undefined ? {} : { javaHome: spec.javaHome }), kafka: spec.kafka };
    const redisUrl = new URL(loadConfig(process.env).redis.url);
    const mysqlUrl = new URL(loadConfig(process.env).mysql.url);
    if (`${redisUrl.hostname}:${redisUrl.port || 6379}` !== "127.0.0.1:6379" || `${mysqlUrl.hostname}:${mysqlUrl.port || 3306}` !== "127.0.0.1:3306") {
      throw new Error("REDIS_URL and DATABASE_URL must be the machine's own servers (127.0.0.1:6379, 127.0.0.1:3306): the chaos run restarts them");
    }
  }

  /** Brings up the whole local stack (reusing what runs), as `quikchat stack up` does. */
  async stackUp(): Promise<void> {
    const components = await stackUp(stackSpecFromConfig(loadConfig(process.env)), this.log);
    this.log(`stack: ${components.map((c) => `${c.name} ${c.state}`).join(", ")}`);
  }

  /** Why the Kafka fault cannot run here (the broker is not this checkout's stack's), or undefined. */
  async kafkaRestartable(): Promise<string | undefined> {
    const [status] = await stackStatus(this.kafkaSpec);
    if (status?.state === "running") return undefined;
    return `the Kafka broker on ${status?.address} was not started by the local stack in ${this.kafkaSpec.dir} (${status?.state}: ${status?.detail}): the chaos run restarts it, so it must be ours; run from the checkout whose stack started it, or set QUIKCHAT_STACK_DIR to that stack's directory`;
  }

  /** Why the Redis fault cannot run here, or undefined. */
  async redisRestartable(): Promise<string | undefined> {
    const tools = await missing([["redis-cli", "--version"], [REDIS_START[0], "--version"]]);
    if (tools !== undefined) return tools;
    for (const dir of [REDIS_DIR, dirname(REDIS_LOG)]) {
      if (!(await access(dir).then(() => true, () => false))) return `${dir} does not exist: Redis could not be started again the way this machine starts it`;
    }
    return undefined;
  }

  /** Why the MariaDB fault cannot run here (tools missing, root may not shut it down), or undefined. */
  async mariadbRestartable(): Promise<string | undefined> {
    const tools = await missing([["mariadb-admin", "--version"], [MARIADB_START[0], "--version"]]);
    if (tools !== undefined) return tools;
    const ping = await runCommand("mariadb-admin", ["-uroot", "ping"], { timeoutMs: 10_000 });
    return ping?.code === 0 ? undefined : `mariadb-admin -uroot ping: ${ping?.output.trim()}: the run shuts MariaDB down as root`;
  }

  kafkaUp(): Promise<boolean> {
    const kafka = this.kafkaSpec.kafka!;
    return kafkaAnswers(kafka.host, kafka.port);
  }

  async redisUp(): Promise<boolean> {
    return (await redisAnswers(this.redis.host, this.redis.port)).ok;
  }

  /** True once MariaDB answers a query (not only its greeting: crash recovery may still run). */
  async mariadbUp(): Promise<boolean> {
    if (!(await mysqlAnswers(this.mysql.host, this.mysql.port)).ok) return false;
    try {
      // connectTimeout covers the handshake; the query has its own bound, as a server still
      // recovering may accept a connection and hold its query.
      const connection = await createConnection({ ...this.mysql, user: "root", connectTimeout: 2_000 });
      try {
        await connection.query({ sql: "SELECT 1", timeout: 2_000 });
        return true;
      } finally {
        // Not end(): it waits for the server's answer to QUIT, which a stuck server never sends.
        connection.destroy();
      }
    } catch {
      return false;
    }
  }

  /** Runs `op`, a stop, unless the run is on its way out; {@link leave} waits for it. */
  private stop(what: string, op: () => Promise<void>): Promise<void> {
    if (this.leaving) return Promise.reject(new Error(`${what} refused: the run is ending and putting the servers back`));
    const done = op();
    this.stopping = done.catch(() => undefined);
    return done;
  }

  /** A clean stop of the stack's broker (SIGTERM, controlled shutdown). */
  stopKafka(): Promise<void> {
    return this.stop("stopping Kafka", async () => {
      const [status] = await stackDown(this.kafkaSpec, this.log);
      if (status?.state !== "stopped") throw new Error(`the Kafka broker was not started by the local stack (${status?.state}, ${status?.detail}): cannot restart it`);
      await waitFor("Kafka still answers", async () => !(await this.kafkaUp()), 30_000);
    });
  }

  async startKafka(): Promise<void> {
    await stackUp(this.kafkaSpec, this.log);
  }

  stopRedis(): Promise<void> {
    return this.stop("stopping Redis", async () => {
      await run("redis-cli", ["-h", this.redis.host, "-p", String(this.redis.port), "shutdown", "nosave"]).catch((error: unknown) => {
        // redis-cli reports the connection closing under it as an error on some versions: what counts is that Redis is gone.
        this.log(`redis-cli shutdown: ${String(error)}`);
      });
      await waitFor("Redis still answers", async () => !(await this.redisUp()), 30_000);
    });
  }

  async startRedis(): Promise<void> {
    await run(REDIS_START[0], REDIS_START[1]);
    await waitFor("Redis does not answer", () => this.redisUp(), 30_000);
  }

  stopMariadb(): Promise<void> {
    return this.stop("stopping MariaDB", async () => {
      await run("mariadb-admin", ["-uroot", "shutdown"]);
      await waitFor("mariadbd still runs", async () => (await runCommand("pidof", ["mariadbd"], { timeoutMs: 5_000 }))?.code !== 0, 120_000);
    });
  }

  async startMariadb(): Promise<void> {
    await run(MARIADB_START[0], MARIADB_START[1]);
    await waitFor("MariaDB does not answer", () => this.mariadbUp(), 120_000);
  }

  /** Starts whatever of Kafka, Redis and MariaDB is down; never throws (it runs on the way out). */
  async restoreAll(): Promise<string[]> {
    const restored: string[] = [];
    const attempt = async (name: string, up: () => Promise<boolean>, start: () => Promise<void>) => {
      try {
        if (await up()) return;
        this.log(`restoring ${name}`);
        await start();
        restored.push(name);
      } catch (error) {
        this.log(`could not restore ${name}: ${String(error)}`);
        restored.push(`${name} (FAILED: ${String(error)})`);
      }
    };
    await attempt("Redis", () => this.redisUp(), () => this.startRedis());
    await attempt("MariaDB", () => this.mariadbUp(), () => this.startMariadb());
    await attempt("Kafka", () => this.kafkaUp(), () => this.startKafka());
    return restored;
  }

  /**
   * The way out (end of run, a signal, the quick run's time up while a fault may still be under
   * way): no stop begins any more, the one under way ends (its own waits are bounded), then
   * whatever is down is started. Without the wait, a server going down just after its check
   * would be left down.
   */
  async leave(): Promise<string[]> {
    this.leaving = true;
    await this.stopping;
    return this.restoreAll();
  }
}
