import { access, mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { address, componentDown, componentUp, pidFileIn, type Answer, type Component } from "./component.js";
import { findJava } from "./java.js";
import { kafkaArtifacts, kafkaMajor, log4j2Properties, log4jProperties, newClusterId, serverProperties } from "./kafka-config.js";
import { resolveClasspath } from "./maven.js";
import { runCommand } from "./run-command.js";
import { spawnDetached } from "./process-control.js";
import { tcpOpen } from "./readiness.js";
import { StackError } from "./stack-error.js";
import type { StackLog } from "./types.js";

export interface KafkaBrokerOptions {
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Config, log, pid, cluster id and log segments; starting again on it restarts the same cluster. */
  readonly dataDir: string;
  /** An `org.apache.kafka:kafka_2.13` version, e.g. "3.9.1". */
  readonly version: string;
  /** Where the resolved classpath is cached; defaults to `cache` beside `dataDir`. */
  readonly cacheDir?: string;
  readonly javaHome?: string;
  readonly startTimeoutMs?: number;
  readonly log?: StackLog;
}

export interface KafkaBroker {
  /** `host:port` for clients. */
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** `started` when this call launched it, `reused` when a broker already answered there. */
  readonly state: "started" | "reused";
  /** The broker's process when this stack started it. */
  readonly pid: number | undefined;
  /** Stops the broker if this stack started it (clean shutdown, SIGKILL after 60 s); idempotent. */
  stop(): Promise<void>;
}

/** True when a Kafka broker at host:port answers a metadata request listing at least one broker. */
export async function kafkaAnswers(host: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  if (!(await tcpOpen(host, port, timeoutMs))) return false;
  const kafka = new Kafka({
    clientId: "quikchat-stack-probe",
    brokers: [address({ host, port })],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    return brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/**
 * The address of a running broker of this stack (a `kafka-<port>` folder beside `dir`) whose
 * controller listens on `controllerPort`, if any: the broker a user meant when the configured
 * one cannot start for want of that port.
 */
async function stackBrokerHolding(dir: string, controllerPort: number): Promise<string | undefined> {
  const siblings = await readdir(dirname(dir)).catch(() => []);
  for (const sibling of siblings.filter((name) => /^kafka-\d+$/.test(name)).map((name) => join(dirname(dir), name))) {
    if (sibling === dir) continue;
    const properties = await readFile(join(sibling, "server.properties"), "utf8").catch(() => "");
    const listeners = /^listeners=(.*)$/m.exec(properties)?.[1] ?? "";
    const broker = /PLAINTEXT:\/\/(.+):(\d+)/.exec(listeners.split(",").find((l) => l.startsWith("PLAINTEXT://")) ?? "");
    const controller = /CONTROLLER:\/\/.+:(\d+)/.exec(listeners.split(",").find((l) => l.startsWith("CONTROLLER://")) ?? "");
    if (broker === null || Number(controller?.[1]) !== controllerPort) continue;
    const holder = { host: broker[1]!, port: Number(broker[2]) };
    if (await kafkaAnswers(holder.host, holder.port)) return address(holder);
  }
  return undefined;
}

/**
 * Why no broker can start on `o.port`: its controller port is taken. Most often by the broker
 * the user meant, on another port: then say so, rather than only naming the controller port,
 * whose change would start a second, empty cluster.
 */
async function controllerPortTaken(o: KafkaBrokerOptions): Promise<StackError> {
  const wanted = address(o);
  const running = await stackBrokerHolding(o.dataDir, o.controllerPort);
  if (running !== undefined) {
    return new StackError(
      `KAFKA_BROKERS: no broker answers on ${wanted}; the local Kafka runs on ${running}: set KAFKA_BROKERS=${running} ` +
        `(only with KAFKA_CONTROLLER_PORT set to another free port would a second, empty broker start on ${wanted})`,
    );
  }
  return new StackError(
    `KAFKA_BROKERS: no broker answers on ${wanted}, and none can start there: port ${o.controllerPort} (Kafka controller) is taken by another program; ` +
      `fix KAFKA_BROKERS if your broker listens elsewhere, or set KAFKA_CONTROLLER_PORT to a free port`,
  );
}

/** The Component that runs one KRaft broker from `o.dataDir`. */
export function kafkaComponent(o: KafkaBrokerOptions): Component {
  const dir = o.dataDir;
  const logFile = join(dir, "kafka.log");
  const cacheDir = o.cacheDir ?? join(dirname(dir), "cache");
  const label = `Kafka ${o.version}`;
  return {
    name: "kafka",
    host: o.host,
    port: o.port,
    version: o.version,
    dir,
    logFile,
    marker: join(dir, "server.properties"),
    elsewhere: "set KAFKA_BROKERS to a broker",
    label,
    startTimeoutMs: o.startTimeoutMs ?? 180_000,
    stopGraceMs: 60_000,
    answers: async (): Promise<Answer> => ((await kafkaAnswers(o.host, o.port)) ? { ok: true, version: o.version } : { ok: false }),
    async launch(): Promise<number> {
      if (await tcpOpen(o.host, o.controllerPort)) {
        // Nothing was written in the folder made for this broker: leave no trace of it.
        await rmdir(dir).catch(() => undefined);
        throw await controllerPortTaken(o);
      }
      const [java, classpath] = await Promise.all([
        findJava(o.javaHome, 17, label),
        resolveClasspath(cacheDir, `kafka-${o.version}`, kafkaArtifacts(o.version)),
      ]);
      const config = join(dir, "server.properties");
      const logDir = join(dir, "data");
      await mkdir(logDir, { recursive: true });
      await writeFile(config, serverProperties({ ...o, logDir }));
      const logging = kafkaMajor(o.version) >= 4
        ? { file: join(dir, "log4j2.properties"), text: log4j2Properties(logFile), flag: "-Dlog4j2.configurationFile=" }
        : { file: join(dir, "log4j.properties"), text: log4jProperties(logFile), flag: "-Dlog4j.configuration=file:" };
      await writeFile(logging.file, logging.text);
      const jvm = [`${logging.flag}${logging.file}`, `-Dkafka.logs.dir=${dir}`, "-Djava.awt.headless=true", "-cp", classpath.join(":")];

      if (!(await exists(join(logDir, "meta.properties")))) {
        const idFile = join(dir, "cluster-id");
        let clusterId = (await readFile(idFile, "utf8").catch(() => "")).trim();
        if (clusterId === "") {
          clusterId = newClusterId();
          await writeFile(idFile, `${clusterId}\n`);
        }
        const format = await runCommand(java.java, [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config, "--ignore-formatted"], {
          cwd: dir,
          timeoutMs: 120_000,
        });
        if (format?.code !== 0) {
          await writeFile(join(dir, "format.log"), format?.output ?? "");
          throw new StackError(`Kafka storage format failed in ${logDir}; read ${join(dir, "format.log")}`);
        }
      }
      return spawnDetached({
        command: java.java,
        args: ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", ...jvm, "kafka.Kafka", config],
        cwd: dir,
        logFile,
        pidFile: pidFileIn(dir),
      });
    },
  };
}

/**
 * Starts (or reuses) one single-node KRaft broker on host:port with its controller on
 * controllerPort, keeping everything under `dataDir`; usable on its own, outside a stack. Calling
 * it again with the same `dataDir` after `stop()` restarts the same cluster with its topics.
 * Resolves once a metadata request succeeds. Rejects with a one-line StackError when the port is
 * held by something else, Java or Maven is missing, or the broker is not ready in time.
 */
export async function startKafka(o: KafkaBrokerOptions): Promise<KafkaBroker> {
  const component = kafkaComponent(o);
  const log = o.log ?? ((): void => undefined);
  const result = await componentUp(component, log);
  let stopped: Promise<void> | undefined;
  return {
    address: result.address,
    dataDir: o.dataDir,
    logFile: component.logFile,
    state: result.state === "started" ? "started" : "reused",
    pid: result.pid,
    stop(): Promise<void> {
      stopped ??= componentDown(component, log).then(() => undefined);
      return stopped;
    },
  };
}
