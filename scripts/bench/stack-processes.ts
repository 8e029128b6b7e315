/**
 * The processes of the servers the service runs on (the Kafka broker, the schema registry,
 * Redis, MariaDB, MongoDB), found by the port they listen on: the address the service is
 * configured with, not a process name that several servers on the machine may share.
 */
import { execFileSync } from "node:child_process";
import type { Config } from "../../src/contexts/index.js";
import type { MeterList } from "./cpu-meter.js";

/** A server the service uses, by the part of the machine cost it stands for. */
export interface StackServer {
  readonly name: string;
  readonly port: number;
}

/**
 * Parses `ss -Hltnp` output into the pid listening on each port (the first one listed when
 * several share it). A line without `pid=` (another user's socket, seen without privileges) is skipped.
 */
export function parseListeners(text: string): Map<number, number> {
  const byPort = new Map<number, number>();
  for (const line of text.split("\n")) {
    const columns = line.trim().split(/\s+/);
    // State Recv-Q Send-Q Local:Port Peer:Port Process; the local address may be [v6]:port.
    const port = Number(/:(\d+)$/.exec(columns[3] ?? "")?.[1]);
    const pid = Number(/pid=(\d+)/.exec(line)?.[1]);
    if (Number.isSafeInteger(port) && Number.isSafeInteger(pid) && !byPort.has(port)) byPort.set(port, pid);
  }
  return byPort;
}

/** Which pid listens on each TCP port of the machine now (`ss -Hltnp`). */
export function listeningPids(): Map<number, number> {
  return parseListeners(execFileSync("ss", ["-Hltnp"], { encoding: "utf8" }));
}

const portOf = (url: string, fallback: number): number => Number(new URL(url).port || fallback);

/**
 * The servers the configuration points at. MongoDB only when it holds history: otherwise the
 * service does not use it, and its CPU is no cost of a message.
 */
export function stackServers(config: Config): StackServer[] {
  const broker = config.kafka.brokers[0] ?? "127.0.0.1:9092";
  return [
    { name: "Kafka broker", port: Number(broker.slice(broker.lastIndexOf(":") + 1)) },
    { name: "MariaDB", port: portOf(config.mysql.url, 3306) },
    { name: "Redis", port: portOf(config.redis.url, 6379) },
    { name: "schema registry (Apicurio)", port: portOf(config.registry.url, 80) },
    ...(config.conversations.historyStore === "mongo" ? [{ name: "MongoDB", port: portOf(config.mongo.url, 27017) }] : []),
  ];
}

/**
 * The stack's servers as processes to meter, each in a group of its own named after it; a
 * server nobody listens for (or `ss` failing) is listed as missing, with why.
 */
export function stackProcesses(config: Config): MeterList {
  const servers = stackServers(config);
  let listeners: Map<number, number>;
  try {
    listeners = listeningPids();
  } catch (error) {
    const reason = `ss -Hltnp failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
    return { processes: [], missing: servers.map(({ name }) => ({ group: name, name, reason })) };
  }
  const found = servers.map((server) => ({ ...server, pid: listeners.get(server.port) }));
  return {
    processes: found.flatMap(({ name, pid }) => (pid === undefined ? [] : [{ group: name, name, pid }])),
    missing: found.flatMap(({ name, port, pid }) => (pid === undefined ? [{ group: name, name, reason: `no process seen listening on port ${port}` }] : [])),
  };
}
