import { access, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { address, javaServerBase, type Answer, type Component, type JavaServerOptions } from "./component.js";
import { findJava } from "./java.js";
import { fetchArtifact } from "./maven.js";
import { spawnDetached } from "./process-control.js";
import { httpOk } from "./readiness.js";
import { runCommand } from "./run-command.js";
import { StackError } from "./stack-error.js";

/** `version` is an `io.apicurio:apicurio-registry-app` 3.x version, e.g. "3.3.3". */
export type RegistryOptions = JavaServerOptions;

const SUBJECTS = "/apis/ccompat/v7/subjects";

function minor(version: string): [number, number] {
  const [maj, min] = version.split(".").map(Number);
  return [maj ?? 0, min ?? 0];
}

/** 3.3 and later are built for Java 21 and ship as tar.gz; earlier 3.x ran on 17 and shipped as zip. */
function layout(version: string): { java: number; types: string[] } {
  const [maj, min] = minor(version);
  const recent = maj > 3 || (maj === 3 && min >= 3);
  return recent ? { java: 21, types: ["tar.gz", "zip"] } : { java: 17, types: ["zip", "tar.gz"] };
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** The first `quarkus-run.jar` in `root`, searched breadth-first a few levels down (the archive layout varies). */
export async function findQuarkusRunJar(root: string, depth = 4): Promise<string | undefined> {
  let level = [root];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const next: string[] = [];
    for (const dir of level) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.isFile() && e.name === "quarkus-run.jar") return join(dir, e.name);
        if (e.isDirectory()) next.push(join(dir, e.name));
      }
    }
    level = next;
  }
  return undefined;
}

async function extract(archive: string, into: string, jarTool: string): Promise<void> {
  const zip = archive.endsWith(".zip");
  const result = zip
    ? await runCommand(jarTool, ["xf", archive], { cwd: into, timeoutMs: 600_000 })
    : await runCommand("tar", ["-xzf", archive, "-C", into], { timeoutMs: 600_000 });
  if (result === undefined) throw new StackError(`${zip ? jarTool : "tar"} not found: cannot unpack ${archive}`);
  if (result.code !== 0) throw new StackError(`could not unpack ${archive}: ${result.output.trim().split("\n")[0] ?? ""}`);
}

/**
 * The `quarkus-run.jar` of Apicurio Registry `version`, fetched with Maven and unpacked once into
 * `<cacheDir>/apicurio-registry-<version>`. Safe to call from several processes at once.
 */
export async function apicurioDistribution(cacheDir: string, version: string, jarTool: string): Promise<string> {
  const home = join(cacheDir, `apicurio-registry-${version}`);
  if (await exists(join(home, ".complete"))) {
    const jar = await findQuarkusRunJar(home);
    if (jar !== undefined) return jar;
    await rm(home, { recursive: true, force: true });
  }
  const work = join(cacheDir, "maven", `apicurio-registry-${version}`);
  const archive = await fetchArtifact(
    work,
    { groupId: "io.apicurio", artifactId: "apicurio-registry-app", version, classifier: "all", types: layout(version).types },
    join(work, String(process.pid)),
  );
  const partial = `${home}.${process.pid}.tmp`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await extract(archive, partial, jarTool);
    if ((await findQuarkusRunJar(partial)) === undefined) throw new StackError(`no quarkus-run.jar in ${archive}`);
    await writeFile(join(partial, ".complete"), `${version}\n`);
    await rename(partial, home).catch((err: NodeJS.ErrnoException) => {
      // Another process unpacked the same version first: keep theirs.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
    await rm(dirname(archive), { recursive: true, force: true }); // a copy: Maven's local repository keeps the original
  }
  const jar = await findQuarkusRunJar(home);
  if (jar === undefined) throw new StackError(`no quarkus-run.jar under ${home}`);
  return jar;
}

async function registryVersion(base: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${base}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    const info = (await res.json()) as { version?: unknown };
    return typeof info.version === "string" ? info.version : undefined;
  } catch {
    return undefined;
  }
}

/** The Component that runs Apicurio Registry with in-memory storage. */
export function registryComponent(o: RegistryOptions): Component {
  const logFile = join(o.dir, "apicurio.log");
  const base = `http://${address(o)}`;
  const label = `Apicurio Registry ${o.version}`;
  const { pidFile, ...server } = javaServerBase(o);
  return {
    ...server,
    name: "registry",
    logFile,
    elsewhere: "set SCHEMA_REGISTRY_URL to a registry",
    label,
    startTimeoutMs: 180_000,
    stopGraceMs: 20_000,
    async answers(): Promise<Answer> {
      if (!(await httpOk(`${base}${SUBJECTS}`))) return { ok: false };
      const version = await registryVersion(base);
      return version === undefined ? { ok: true } : { ok: true, version };
    },
    async launch(log): Promise<number> {
      const java = await findJava(o.javaHome, layout(o.version).java, label);
      log(`registry: running on Java ${java.major} (${java.java})`);
      const runJar = await apicurioDistribution(o.cacheDir, o.version, java.jar);
      return spawnDetached({
        command: java.java,
        args: [
          "-Xms128m",
          "-Xmx768m",
          server.marker,
          `-Dquarkus.http.host=${o.host}`,
          `-Dquarkus.http.port=${o.port}`,
          // The management interface is fixed on at build time; keep it off the shared port 9000.
          `-Dquarkus.management.host=${o.host}`,
          "-Dquarkus.management.port=0",
          "-Dquarkus.otel.sdk.disabled=true",
          "-Dapicurio.storage.kind=sql",
          "-Dapicurio.storage.sql.kind=h2",
          "-Dapicurio.rest.deletion.group.enabled=true",
          "-Dapicurio.rest.deletion.artifact.enabled=true",
          "-Dapicurio.rest.deletion.artifact-version.enabled=true",
          "-jar",
          runJar,
        ],
        cwd: o.dir,
        logFile,
        pidFile,
      });
    },
  };
}
