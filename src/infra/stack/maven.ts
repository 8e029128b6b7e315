import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./run-command.js";
import { StackError } from "./stack-error.js";

export interface MavenArtifact {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
}

/** Pinned so that runs never depend on the plugin-prefix lookup or Maven's old default. */
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";
const MVN_TIMEOUT_MS = 15 * 60_000;

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A pom whose only purpose is to depend on `artifacts`. */
export function runtimePom(name: string, artifacts: readonly MavenArtifact[]): string {
  const deps = artifacts
    .map(
      (a) =>
        `    <dependency><groupId>${escapeXml(a.groupId)}</groupId><artifactId>${escapeXml(a.artifactId)}</artifactId>` +
        `<version>${escapeXml(a.version)}</version></dependency>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.quikchat.stack</groupId>
  <artifactId>${escapeXml(name)}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
}

/** The first `[ERROR]` line of Maven's output, without the prefix. */
function firstError(output: string): string {
  const line = output.split("\n").find((l) => l.includes("[ERROR]")) ?? output.trim().split("\n")[0] ?? "";
  return line.replace(/^.*\[ERROR\]\s*/, "").slice(0, 300);
}

/**
 * Runs mvn in `cwd`, keeping its output in `<cwd>/mvn.log`. Rejects with a one-line StackError
 * when mvn is missing or fails; resolves false instead of failing when `mayFail` is set.
 */
async function mvn(cwd: string, args: readonly string[], what: string, mayFail = false): Promise<boolean> {
  const result = await runCommand("mvn", ["-B", "-q", "-Dstyle.color=never", ...args], { cwd, timeoutMs: MVN_TIMEOUT_MS });
  if (result === undefined) throw new StackError("mvn not found: install Maven (apt-get install maven)");
  await writeFile(join(cwd, "mvn.log"), result.output);
  if (result.code === 0) return true;
  if (mayFail) return false;
  if (result.code === null) throw new StackError(`mvn took over ${MVN_TIMEOUT_MS / 60_000} min to resolve ${what}; read ${join(cwd, "mvn.log")}`);
  throw new StackError(`mvn could not resolve ${what}: ${firstError(result.output)} (read ${join(cwd, "mvn.log")})`);
}

async function allExist(paths: readonly string[]): Promise<boolean> {
  const results = await Promise.all(paths.map((p) => access(p).then(() => true, () => false)));
  return results.every(Boolean);
}

/**
 * The runtime classpath (jar paths) of `artifacts` and all their dependencies, resolved by
 * Maven into the local repository. The result is cached in `<cacheDir>/maven/<name>/classpath.txt`
 * and reused while every jar on it still exists, so warm starts do not run mvn.
 */
export async function resolveClasspath(cacheDir: string, name: string, artifacts: readonly MavenArtifact[]): Promise<string[]> {
  const dir = join(cacheDir, "maven", name);
  const file = join(dir, "classpath.txt");
  const pom = runtimePom(name, artifacts);
  const cached = await readFile(file, "utf8").catch(() => undefined);
  const cachedPom = await readFile(join(dir, "pom.xml"), "utf8").catch(() => undefined);
  if (cached !== undefined && cachedPom === pom) {
    const jars = cached.trim().split(":").filter(Boolean);
    if (jars.length > 0 && (await allExist(jars))) return jars;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "pom.xml"), pom);
  // Written under a temporary name and renamed, so a concurrent reader never sees half a file.
  const partial = `classpath.txt.${process.pid}.tmp`;
  const what = artifacts.map((a) => `${a.groupId}:${a.artifactId}:${a.version}`).join(", ");
  await mvn(dir, [`${DEPENDENCY_PLUGIN}:build-classpath`, `-Dmdep.outputFile=${partial}`, "-Dmdep.includeScope=runtime"], what);
  await rename(join(dir, partial), file);
  return (await readFile(file, "utf8")).trim().split(":").filter(Boolean);
}

/**
 * Copies one artifact (no dependencies) from Maven into `outDir`, trying each packaging type in
 * turn. Resolves the copied file's path, or rejects with a StackError when no type exists.
 */
export async function fetchArtifact(
  workDir: string,
  artifact: MavenArtifact & { readonly classifier: string; readonly types: readonly string[] },
  outDir: string,
): Promise<string> {
  await mkdir(workDir, { recursive: true });
  const base = `${artifact.groupId}:${artifact.artifactId}:${artifact.version}`;
  for (const [i, type] of artifact.types.entries()) {
    const coords = `${base}:${type}:${artifact.classifier}`;
    const last = i === artifact.types.length - 1;
    const args = [`${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=${coords}`, `-DoutputDirectory=${outDir}`, "-Dmdep.overWriteReleases=true"];
    if (await mvn(workDir, args, coords, !last)) {
      return join(outDir, `${artifact.artifactId}-${artifact.version}-${artifact.classifier}.${type}`);
    }
  }
  throw new StackError(`mvn could not resolve ${base}`);
}

/** Removes a directory tree, ignoring its absence. */
export const removeTree = (path: string): Promise<void> => rm(path, { recursive: true, force: true });
