import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./run-command.js";
import { StackError } from "./stack-error.js";

export interface JavaRuntime {
  /** The `java` executable. */
  readonly java: string;
  /** The JDK's `jar` tool next to it. */
  readonly jar: string;
  readonly major: number;
}

/** Where Debian and most JDK packages install side-by-side JDKs. */
const JVM_ROOT = "/usr/lib/jvm";

/** `"17.0.15"` → 17, `"1.8.0_402"` → 8. */
export function javaMajor(version: string): number | undefined {
  const match = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

async function probe(java: string): Promise<number | undefined> {
  const result = await runCommand(java, ["-version"], { timeoutMs: 20_000 });
  if (result === undefined) return undefined;
  const version = /version "([^"]+)"/.exec(result.output)?.[1];
  return version === undefined ? undefined : javaMajor(version);
}

/** Other JDKs under /usr/lib/jvm, read from their `release` files: [home, major][]. */
async function installedJdks(): Promise<Array<[string, number]>> {
  const names = await readdir(JVM_ROOT).catch(() => [] as string[]);
  const found: Array<[string, number]> = [];
  for (const name of names) {
    const home = join(JVM_ROOT, name);
    const release = await readFile(join(home, "release"), "utf8").catch(() => undefined);
    const version = release === undefined ? undefined : /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1];
    const major = version === undefined ? undefined : javaMajor(version);
    if (major !== undefined) found.push([home, major]);
  }
  return found.sort((a, b) => a[1] - b[1]);
}

const cache = new Map<string, Promise<JavaRuntime>>();

async function locate(javaHome: string | undefined, minMajor: number, needs: string): Promise<JavaRuntime> {
  const java = javaHome === undefined ? "java" : join(javaHome, "bin", "java");
  const jar = javaHome === undefined ? "jar" : join(javaHome, "bin", "jar");
  const major = await probe(java);
  if (major === undefined) {
    throw new StackError(
      javaHome === undefined
        ? "java not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
        : `java not found in JAVA_HOME ${javaHome}: point JAVA_HOME at a JDK 17 or newer`,
    );
  }
  if (major >= minMajor) return { java, jar, major };
  const newer = (await installedJdks()).find(([, m]) => m >= minMajor);
  if (newer !== undefined) {
    const [home, m] = newer;
    return { java: join(home, "bin", "java"), jar: join(home, "bin", "jar"), major: m };
  }
  throw new StackError(`${needs} needs Java ${minMajor} or newer but java is ${major}: install a JDK ${minMajor}+ under ${JVM_ROOT} or set JAVA_HOME`);
}

/**
 * Finds a Java runtime of at least `minMajor`: the one in `javaHome` (or on PATH) when it is
 * new enough, else the oldest sufficient JDK under /usr/lib/jvm. `needs` names the component
 * in the error. Rejects with a one-line StackError when none fits. Results are memoised.
 */
export function findJava(javaHome: string | undefined, minMajor: number, needs: string): Promise<JavaRuntime> {
  const key = `${javaHome ?? ""}\0${minMajor}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = locate(javaHome, minMajor, needs);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}
