import { access } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Answer, Component } from "./component.js";
import { findJava } from "./java.js";
import { resolveClasspath, type MavenArtifact } from "./maven.js";
import { isMasterRequest, isMasterSucceeded, messageComplete } from "./mongo-wire.js";
import { spawnDetached } from "./process-control.js";
import { tcpExchange } from "./readiness.js";
import { StackError } from "./stack-error.js";

export interface MongoOptions {
  readonly host: string;
  readonly port: number;
  /** A `de.bwaldvogel:mongo-java-server` version, e.g. "1.47.0". */
  readonly version: string;
  /** Holds the pid file and the log. */
  readonly dir: string;
  /** Where the resolved classpath is cached. */
  readonly cacheDir: string;
  readonly javaHome?: string;
}

const LAUNCHER = join("stack", "java", "MongoServerLauncher.java");

/** The launcher source, found by walking up from this module (it sits in the repository, not in dist). */
async function launcherSource(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, LAUNCHER);
    if (await access(candidate).then(() => true, () => false)) return candidate;
    const parent = resolve(dir, "..");
    if (parent === dir) throw new StackError(`${LAUNCHER} not found above ${dirname(fileURLToPath(import.meta.url))}`);
    dir = parent;
  }
}

function mongoArtifacts(version: string): MavenArtifact[] {
  return [
    { groupId: "de.bwaldvogel", artifactId: "mongo-java-server", version },
    // MemoryBackend lives in its own artifact; the main one depends on it today, but say so.
    { groupId: "de.bwaldvogel", artifactId: "mongo-java-server-memory-backend", version },
    // The server logs through slf4j 2 and ships no binding.
    { groupId: "org.slf4j", artifactId: "slf4j-simple", version: "2.0.17" },
  ];
}

let nextRequestId = 1;

/** True when a MongoDB server at host:port answers `isMaster` with ok: 1. */
export async function mongoAnswers(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  const requestId = nextRequestId++;
  const reply = await tcpExchange(host, port, isMasterRequest(requestId), messageComplete, timeoutMs);
  return reply !== undefined && isMasterSucceeded(reply, requestId);
}

/** The Component that runs mongo-java-server's in-memory backend through stack/java/MongoServerLauncher.java. */
export function mongoComponent(o: MongoOptions): Component {
  const logFile = join(o.dir, "mongo.log");
  const label = `mongo-java-server ${o.version}`;
  const pidFile = join(o.dir, "pid");
  return {
    name: "mongo",
    host: o.host,
    port: o.port,
    version: o.version,
    dir: o.dir,
    logFile,
    marker: `-Dquikchat.stack.pidfile=${pidFile}`,
    elsewhere: "set MONGO_URL to a MongoDB server",
    label,
    startTimeoutMs: 120_000,
    stopGraceMs: 10_000,
    answers: async (): Promise<Answer> => ((await mongoAnswers(o.host, o.port)) ? { ok: true, version: o.version } : { ok: false }),
    async launch(): Promise<number> {
      const [java, classpath, source] = await Promise.all([
        findJava(o.javaHome, 17, label),
        resolveClasspath(o.cacheDir, `mongo-java-server-${o.version}`, mongoArtifacts(o.version)),
        launcherSource(),
      ]);
      return spawnDetached({
        command: java.java,
        args: [
          "-Xms64m",
          "-Xmx512m",
          `-Dquikchat.stack.pidfile=${pidFile}`,
          "-Dorg.slf4j.simpleLogger.showDateTime=true",
          "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn",
          "-cp",
          classpath.join(":"),
          source,
          o.host,
          String(o.port),
        ],
        cwd: o.dir,
        logFile,
        pidFile,
      });
    },
  };
}

