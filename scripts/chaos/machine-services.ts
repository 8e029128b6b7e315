/**
 * Stopping and starting the servers the service depends on, as the machine runs them:
 * - Kafka through the local stack's own functions (stackDown/stackUp of a spec holding Kafka
 *   only: a clean stop, then a start on the same data directory);
 * - the machine's Redis (no persistence: a restart loses every key) with `redis-cli shutdown
 *   nosave` and the exact command that started it;
 * - the machine's MariaDB with `mariadb-admin shutdown` and its start-stop-daemon command.
 * {@link restoreAll} puts back whatever is down: the run calls it on every way out.
 */
import { createConnection } from "mysql2/promise";
import { loadConfig } from "../../src/contexts/index.js";
import { stackSpecFromConfig } from "../../src/cli/stack-spec.js";
import { mysqlAnswers } from "../../src/infra/stack/mariadb-server.js";
import { redisAnswers } from "../../src/infra/stack/redis-server.js";
import { runCommand } from "../../src/infra/stack/run-command.js";
import { kafkaAnswers, stackDown, stackUp, type StackSpec } from "../../src/infra/stack/stack.js";

/** How this machine starts its Redis (nothing on disk: `--save ""`, no AOF). */
const REDIS_START = [
  "redis-server",
  ["--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
] as const;
/** How this machine starts its MariaDB. */
const MARIADB_START = ["start-stop-daemon", ["--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"]] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

export class MachineServices {
  private readonly kafkaSpec: StackSpec;
  private readonly redis = { host: "127.0.0.1", port: 6379 };
  private readonly mysql = { host: "127.0.0.1", port: 3306 };

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
      const connection = await createConnection({ ...this.mysql, user: "root", connectTimeout: 2_000 });
      try {
        await connection.query("SELECT 1");
        return true;
      } finally {
        await connection.end();
      }
    } catch {
      return false;
    }
  }

  /** A clean stop of the stack's broker (SIGTERM, controlled shutdown). */
  async stopKafka(): Promise<void> {
    const [status] = await stackDown(this.kafkaSpec, this.log);
    if (status?.state !== "stopped") throw new Error(`the Kafka broker was not started by the local stack (${status?.state}, ${status?.detail}): cannot restart it`);
    await waitFor("Kafka still answers", async () => !(await this.kafkaUp()), 30_000);
  }

  async startKafka(): Promise<void> {
    await stackUp(this.kafkaSpec, this.log);
  }

  async stopRedis(): Promise<void> {
    await run("redis-cli", ["-h", this.redis.host, "-p", String(this.redis.port), "shutdown", "nosave"]).catch((error: unknown) => {
      // redis-cli reports the connection closing under it as an error on some versions: what counts is that Redis is gone.
      this.log(`redis-cli shutdown: ${String(error)}`);
    });
    await waitFor("Redis still answers", async () => !(await this.redisUp()), 30_000);
  }

  async startRedis(): Promise<void> {
    await run(REDIS_START[0], REDIS_START[1]);
    await waitFor("Redis does not answer", () => this.redisUp(), 30_000);
  }

  async stopMariadb(): Promise<void> {
    await run("mariadb-admin", ["-uroot", "shutdown"]);
    await waitFor("mariadbd still runs", async () => (await runCommand("pidof", ["mariadbd"], { timeoutMs: 5_000 }))?.code !== 0, 120_000);
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
}
