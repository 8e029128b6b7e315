import { join } from "node:path";
import { projectRoot } from "../../platform/config/project.js";
import { javaServerBase, type Answer, type Component, type JavaServerOptions } from "./component.js";
import { findJava } from "./java.js";
import { resolveClasspath, type MavenArtifact } from "./maven.js";
import { isMasterRequest, isMasterSucceeded, messageComplete } from "./mongo-wire.js";
import { spawnDetached } from "./process-control.js";
import { tcpExchange } from "./readiness.js";

/** `version` is a `de.bwaldvogel:mongo-java-server` version, e.g. "1.47.0". */
export type MongoOptions = JavaServerOptions;

const LAUNCHER = join("stack", "java", "MongoServerLauncher.java");

/** The launcher source ships in the repository (and the image), not in dist. */
const launcherSource = (): string => join(projectRoot(), LAUNCHER);

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
  const { pidFile, ...server } = javaServerBase(o);
  return {
    ...server,
    name: "mongo",
    logFile,
    elsewhere: "set MONGO_URL to a MongoDB server",
    label,
    startTimeoutMs: 120_000,
    stopGraceMs: 10_000,
    answers: async (): Promise<Answer> => ((await mongoAnswers(o.host, o.port)) ? { ok: true, version: o.version } : { ok: false }),
    async launch(): Promise<number> {
      const [java, classpath] = await Promise.all([
        findJava(o.javaHome, 17, label),
        resolveClasspath(o.cacheDir, `mongo-java-server-${o.version}`, mongoArtifacts(o.version)),
      ]);
      return spawnDetached({
        command: java.java,
        args: [
          "-Xms64m",
          "-Xmx512m",
          server.marker,
          "-Dorg.slf4j.simpleLogger.showDateTime=true",
          "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn",
          "-cp",
          classpath.join(":"),
          launcherSource(),
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

