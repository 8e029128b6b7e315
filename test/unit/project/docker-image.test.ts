import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../src/platform/config/project.js";

/**
 * What the runtime image needs that no Docker engine here can show: every shared library the
 * native modules of the production dependencies link (`ldd`) must come from a Debian package
 * the runtime stage of the Dockerfile installs, or that its base image has by construction.
 */

const root = projectRoot();

/**
 * The packages of the libraries the node binary itself links (libc, libm, libdl, libpthread and
 * the loader; libstdc++; libgcc_s): every `node:*` image has them, since node runs there.
 */
const NODE_IMAGE_PROVIDES = ["libc6", "libstdc++6", "libgcc-s1"];

interface Stage {
  readonly from: string;
  readonly instructions: readonly string[];
}

/** The Dockerfile's stages, each with its instructions (continuation lines joined, comments dropped). */
function stages(dockerfile: string): Stage[] {
  const instructions = dockerfile
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const result: { from: string; instructions: string[] }[] = [];
  for (const instruction of instructions) {
    const from = /^FROM\s+(\S+)/i.exec(instruction);
    if (from) result.push({ from: from[1]!, instructions: [] });
    else result.at(-1)?.instructions.push(instruction);
  }
  return result;
}

/** The packages `apt-get install` names in the RUN instructions of `stage`. */
function aptInstalls(stage: Stage): string[] {
  return stage.instructions
    .filter((instruction) => /^RUN\s/i.test(instruction))
    .flatMap((run) => run.split(/&&|;/))
    .map((command) => command.trim().split(/\s+/))
    .filter((words) => words[0] === "apt-get" && words.includes("install"))
    .flatMap((words) => words.slice(words.indexOf("install") + 1).filter((word) => !word.startsWith("-")));
}

/** The folders of the packages `npm prune --omit=dev` keeps, from the lock file. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path !== "" && entry.dev !== true)
    .map(([path]) => join(root, path));
}

const isNative = (name: string) => name.endsWith(".node") || /^librdkafka.*\.so(\.\d+)*$/.test(name);

/** The native files under `dir`, not descending into nested packages (listed on their own). */
function nativeFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return [];
    if (stat.isDirectory()) return name === "node_modules" ? [] : nativeFiles(path);
    return isNative(name) ? [path] : [];
  });
}

interface Linked {
  readonly library: string;
  /** Where the loader finds it; undefined when `ldd` says "not found". */
  readonly path: string | undefined;
}

function ldd(file: string): Linked[] {
  return execFileSync("ldd", [file], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("linux-vdso"))
    .map((line) => {
      const [library, target] = line.split(" => ");
      if (target === undefined) return { library: basename(library!.split(" ")[0]!), path: library!.split(" ")[0] };
      return { library: library!, path: target.startsWith("not found") ? undefined : target.split(" ")[0] };
    });
}

/**
 * The Debian package that owns each of `paths` (absent: none), asking dpkg once for every
 * spelling it may have recorded a file under (merged /usr: `/lib/…` and `/usr/lib/…`).
 */
function debianPackages(paths: readonly string[]): Map<string, string> {
  const spellings = new Map<string, string>();
  for (const path of paths) {
    for (const p of [path, realpathSync(path)]) {
      spellings.set(p, path);
      spellings.set(p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`, path);
    }
  }
  // dpkg exits 1 when one spelling is unknown, and still prints the owners of the others.
  const listing = spawnSync("dpkg", ["-S", ...spellings.keys()], { encoding: "utf8" }).stdout;
  const owners = new Map<string, string>();
  for (const line of listing.split("\n")) {
    const match = /^([^:,\s]+)(?::[^:\s]+)?: (\S+)$/.exec(line);
    const path = match && spellings.get(match[2]!);
    if (path !== undefined && path !== null) owners.set(path, match![1]!);
  }
  return owners;
}

describe("the Docker image", () => {
  const dockerfile = stages(readFileSync(join(root, "Dockerfile"), "utf8"));
  const runtime = dockerfile.at(-1)!;

  it("runs on the Node 20 slim image the provided packages are known for", () => {
    expect(runtime.from).toBe("node:20-bookworm-slim");
  });

  it("installs every Debian package the native modules of the production dependencies link", () => {
    const natives = productionPackages().flatMap(nativeFiles);
    expect(natives.map((file) => basename(file))).toEqual(expect.arrayContaining(["node-librdkafka.node", "librdkafka.so.1"]));
    const shipped = new Set(natives.map((file) => basename(file)));
    const modules = realpathSync(join(root, "node_modules")) + sep;
    const provided = new Set([...NODE_IMAGE_PROVIDES, ...aptInstalls(runtime)]);

    const unresolved: string[] = [];
    const system: { library: string; path: string }[] = [];
    for (const file of natives) {
      for (const { library, path } of ldd(file)) {
        if (path === undefined) {
          // Loaded beside it: node-librdkafka.node finds librdkafka.so.1 by its rpath before librdkafka++ needs it.
          if (!shipped.has(library)) unresolved.push(`${library} (needed by ${file.slice(root.length + 1)})`);
        } else if (!realpathSync(path).startsWith(modules)) {
          system.push({ library, path });
        }
      }
    }
    const owners = debianPackages([...new Set(system.map(({ path }) => path))]);
    const needed = new Map<string, Set<string>>();
    for (const { library, path } of system) {
      const owner = owners.get(path);
      if (owner === undefined) unresolved.push(`${path} (no Debian package owns it)`);
      else needed.set(owner, (needed.get(owner) ?? new Set()).add(library));
    }

    expect(unresolved).toEqual([]);
    expect([...needed.keys()]).toEqual(expect.arrayContaining(["libssl3"]));
    const missing = [...needed].filter(([owner]) => !provided.has(owner)).map(([owner, libraries]) => `${owner} (${[...libraries].join(", ")})`);
    expect(missing).toEqual([]);
  });
});
