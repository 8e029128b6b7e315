import { randomBytes } from "node:crypto";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { address, javaServerBase, type Answer, type Component, type JavaServerOptions } from "./component.js";
import { findJava } from "./java.js";
import { fetchArtifact } from "./maven.js";
import { spawnDetached } from "./process-control.js";
import { StackError } from "./stack-error.js";
import type { S3ProxySpec } from "./types.js";

/** `version` is an `org.gaul:s3proxy` version, e.g. "2.6.0". */
export type S3ProxyOptions = JavaServerOptions;

/**
 * Where the local stack runs S3Proxy for the recordings when no S3 endpoint is configured: its own
 * port, away from the ports of the stack's other servers and from 9000 (MinIO's, and Quarkus'
 * management port).
 */
export const LOCAL_S3PROXY: S3ProxySpec = Object.freeze({ host: "127.0.0.1", port: 8333, version: "2.6.0" });

/** The access key pair of the stack's S3Proxy, generated once and kept in its folder. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The folder of the S3Proxy a stack living in `stackDir` runs on `port`; objects live in its `data/`. */
export const s3proxyDir = (stackDir: string, port: number): string => join(stackDir, `s3proxy-${port}`);

const credentialsFileIn = (dir: string): string => join(dir, "credentials.json");

/** Reads the credentials kept in `file`, or undefined when absent or unreadable. */
async function readCredentials(file: string): Promise<S3Credentials | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<S3Credentials>;
    if (typeof parsed.accessKeyId === "string" && parsed.accessKeyId && typeof parsed.secretAccessKey === "string" && parsed.secretAccessKey) {
      return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
    }
  } catch {
    // A damaged file counts as absent: new credentials replace it.
  }
  return undefined;
}

/** The credentials kept in `dir`, generated the first time (an AWS-shaped 20-character key id and a 40-character secret). */
async function keptCredentials(dir: string): Promise<S3Credentials> {
  const file = credentialsFileIn(dir);
  const kept = await readCredentials(file);
  if (kept) return kept;
  const credentials: S3Credentials = {
    accessKeyId: `QC${randomBytes(9).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64url"),
  };
  await writeFile(file, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  return credentials;
}

/**
 * The credentials of the S3Proxy the local stack in `stackDir` runs on `port`. Rejects with a
 * one-line StackError when that stack never started one.
 */
export async function s3proxyCredentials(stackDir: string, port: number): Promise<S3Credentials> {
  const file = credentialsFileIn(s3proxyDir(stackDir, port));
  const credentials = await readCredentials(file);
  if (credentials === undefined) {
    throw new StackError(`no S3 credentials in ${file}: the local stack has not started S3Proxy; run quikchat stack up, or set S3_ENDPOINT and its credentials`);
  }
  return credentials;
}

/** S3Proxy's configuration: AWS signatures v2 or v4 with the kept key pair, jclouds' filesystem backend under `basedir`. */
export function s3proxyProperties(o: { host: string; port: number }, credentials: S3Credentials, basedir: string): string {
  return [
    `s3proxy.endpoint=http://${address(o)}`,
    "s3proxy.authorization=aws-v2-or-v4",
    `s3proxy.identity=${credentials.accessKeyId}`,
    `s3proxy.credential=${credentials.secretAccessKey}`,
    "jclouds.provider=filesystem",
    `jclouds.filesystem.basedir=${basedir}`,
    "",
  ].join("\n");
}

/** Whether an HTTP answer is an S3 error document (`<Error><Code>…</Code>…</Error>`), as S3 gives an unsigned request. */
export function isS3ErrorDocument(status: number, body: string): boolean {
  return status >= 400 && status < 500 && /<Error>[\s\S]*<Code>[A-Za-z]+<\/Code>[\s\S]*<\/Error>/.test(body);
}

/**
 * Asks host:port for its buckets without signing: an S3 server refuses with an S3 error document
 * (AccessDenied). Each probe uses its own connection; never throws, never hangs.
 */
export function s3Answers(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: "/", method: "GET", agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < 4_096) body += chunk;
      });
      res.once("end", () => resolve(isS3ErrorDocument(res.statusCode ?? 0, body)));
      res.once("error", () => resolve(false));
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
    req.once("close", () => resolve(false));
    req.end();
  });
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/**
 * S3Proxy's self-contained jar (`jar-with-dependencies`), fetched with Maven once into
 * `<cacheDir>/s3proxy-<version>/`. Safe to call from several processes at once.
 */
export async function s3proxyJar(cacheDir: string, version: string): Promise<string> {
  const jar = join(cacheDir, `s3proxy-${version}`, `s3proxy-${version}-jar-with-dependencies.jar`);
  if (await exists(jar)) return jar;
  const work = join(cacheDir, "maven", `s3proxy-${version}`);
  const copied = await fetchArtifact(
    work,
    { groupId: "org.gaul", artifactId: "s3proxy", version, classifier: "jar-with-dependencies", types: ["jar"] },
    join(work, String(process.pid)),
  );
  try {
    await mkdir(dirname(jar), { recursive: true });
    // Renamed whole, so a concurrent reader never runs half a jar; another process's copy is as good.
    await rename(copied, jar);
  } finally {
    await rm(dirname(copied), { recursive: true, force: true });
  }
  return jar;
}

/**
 * The Component for S3Proxy, the S3-compatible store of recordings: `org.gaul:s3proxy` on Java 17
 * with jclouds' filesystem backend in `<dir>/data`, signed requests only, its access key pair
 * generated once and kept in `<dir>/credentials.json`. Ready once an unsigned request gets an S3
 * error document back.
 */
export function s3proxyComponent(o: S3ProxyOptions): Component {
  const logFile = join(o.dir, "s3proxy.log");
  const label = `S3Proxy ${o.version}`;
  const { pidFile, ...server } = javaServerBase(o);
  return {
    ...server,
    name: "s3proxy",
    logFile,
    elsewhere: "set S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY to an S3-compatible store",
    label,
    startTimeoutMs: 120_000,
    stopGraceMs: 10_000,
    answers: async (): Promise<Answer> => ((await s3Answers(o.host, o.port)) ? { ok: true, version: o.version } : { ok: false }),
    async launch(log): Promise<number> {
      const [java, jar] = await Promise.all([findJava(o.javaHome, 17, label), s3proxyJar(o.cacheDir, o.version)]);
      log(`s3proxy: running on Java ${java.major} (${java.java})`);
      const basedir = join(o.dir, "data");
      await mkdir(basedir, { recursive: true });
      const properties = join(o.dir, "s3proxy.conf");
      await writeFile(properties, s3proxyProperties(o, await keptCredentials(o.dir), basedir), { mode: 0o600 });
      return spawnDetached({
        command: java.java,
        args: ["-Xms32m", "-Xmx256m", server.marker, "-jar", jar, "--properties", properties],
        cwd: o.dir,
        logFile,
        pidFile,
      });
    },
  };
}
