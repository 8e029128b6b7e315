/**
 * Every version of a schema file in git history, resolved as of its own commit, so that
 * consecutive versions can be checked for compatibility.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { commonDefinitions, inlineSharedTypes, parseSchemaSource, schemaFiles, type JsonObject, type JsonValue, type SchemaSource } from "./schema-catalog.js";

/** One version of a schema file, with the shared types of the same version inlined. */
export interface SchemaVersion {
  /** Commit id, or `working-tree` for the file on disk. */
  readonly ref: string;
  /** The file's path at that version (it may have been renamed since). */
  readonly path: string;
  readonly schema: JsonValue;
}

/** Git is missing, the folder is not a repository, or its history is absent or truncated. */
export class SchemaHistoryUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SchemaHistoryUnavailableError";
  }
}

/** Sentinel ref of the version on disk. */
export const WORKING_TREE = "working-tree";

const COMMON_DIR = "schemas/common";

function git(root: string, args: readonly string[]): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) {
    throw new SchemaHistoryUnavailableError(`cannot run git (${result.error.message}): install git to check schema history`, { cause: result.error });
  }
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr.trim() };
}

/**
 * Throws {@link SchemaHistoryUnavailableError} unless `root` is a git work tree with at least
 * one commit and full (not shallow) history: a check that silently compared nothing would
 * let a breaking change through.
 */
export function assertSchemaHistoryAvailable(root: string): void {
  const inside = git(root, ["rev-parse", "--is-inside-work-tree"]);
  if (!inside.ok || inside.stdout.trim() !== "true") {
    throw new SchemaHistoryUnavailableError(`${root} is not a git work tree (${inside.stderr}); schema history cannot be checked`);
  }
  if (!git(root, ["rev-parse", "--verify", "--quiet", "HEAD"]).ok) {
    throw new SchemaHistoryUnavailableError(`the repository at ${root} has no commits yet; commit the schemas so that later changes can be checked against them`);
  }
  if (git(root, ["rev-parse", "--is-shallow-repository"]).stdout.trim() === "true") {
    throw new SchemaHistoryUnavailableError(`the clone at ${root} is shallow; run \`git fetch --unshallow\` so that every schema version can be checked`);
  }
}

/** Reads git objects of one repository, caching the shared types per commit. */
export class SchemaHistory {
  private readonly commons = new Map<string, Map<string, JsonObject>>();

  /** Throws {@link SchemaHistoryUnavailableError} when the history cannot be read (see {@link assertSchemaHistoryAvailable}). */
  constructor(readonly root: string) {
    assertSchemaHistoryAvailable(root);
  }

  /** The `.avsc` files of the working tree, relative to the root. */
  files(): string[] {
    return schemaFiles(this.root);
  }

  /**
   * Every distinct version of `file`, oldest first: each commit that touched it (following
   * renames), then the working tree. Consecutive identical versions (after inlining the shared
   * types of their own commit) are collapsed.
   */
  versions(file: string): SchemaVersion[] {
    const log = git(this.root, ["log", "--follow", "--format=%x00%H", "--name-only", "--", file]);
    if (!log.ok) throw new SchemaHistoryUnavailableError(`git log failed for ${file}: ${log.stderr}`);
    const commits: { sha: string; path: string }[] = [];
    for (const chunk of log.stdout.split("\0").slice(1)) {
      const [sha = "", ...paths] = chunk.split("\n").map((line) => line.trim()).filter((line) => line !== "");
      // With --follow, the listed path is the file's name in that commit (before a rename).
      const path = paths[0] ?? file;
      const newer = commits[commits.length - 1];
      // --follow also detects copies: a new schema started as a copy of another one must not
      // inherit that one's history. A path change is a rename only if the old path is gone.
      if (newer !== undefined && newer.path !== path && git(this.root, ["cat-file", "-e", `${newer.sha}:${path}`]).ok) break;
      commits.push({ sha, path });
    }
    commits.reverse();

    const versions: SchemaVersion[] = [];
    const push = (version: SchemaVersion): void => {
      const last = versions[versions.length - 1];
      if (last === undefined || JSON.stringify(last.schema) !== JSON.stringify(version.schema)) versions.push(version);
    };
    for (const { sha, path } of commits) {
      const shown = git(this.root, ["show", `${sha}:${path}`]);
      if (!shown.ok) continue; // the commit deleted the file: not a version
      push({ ref: sha, path, schema: this.resolve({ file: `${sha.slice(0, 12)}:${path}`, text: shown.stdout }, this.commonAt(sha)) });
    }
    const onDisk = join(this.root, file);
    if (existsSync(onDisk)) {
      push({ ref: WORKING_TREE, path: file, schema: this.resolve({ file, text: readFileSync(onDisk, "utf8") }, this.commonOnDisk()) });
    }
    return versions;
  }

  private resolve(source: SchemaSource, shared: ReadonlyMap<string, JsonObject>): JsonValue {
    return inlineSharedTypes(parseSchemaSource(source), shared);
  }

  private commonAt(sha: string): Map<string, JsonObject> {
    const cached = this.commons.get(sha);
    if (cached !== undefined) return cached;
    const listed = git(this.root, ["ls-tree", "-r", "--name-only", sha, "--", `${COMMON_DIR}/`]);
    const sources = listed.stdout
      .split("\n")
      .filter((path) => path.endsWith(".avsc"))
      .map((path) => ({ file: `${sha.slice(0, 12)}:${path}`, text: git(this.root, ["show", `${sha}:${path}`]).stdout }));
    const definitions = commonDefinitions(sources);
    this.commons.set(sha, definitions);
    return definitions;
  }

  private commonOnDisk(): Map<string, JsonObject> {
    const cached = this.commons.get(WORKING_TREE);
    if (cached !== undefined) return cached;
    const sources = this.files()
      .filter((file) => file.startsWith(`${COMMON_DIR}/`))
      .map((file) => ({ file, text: readFileSync(join(this.root, file), "utf8") }));
    const definitions = commonDefinitions(sources);
    this.commons.set(WORKING_TREE, definitions);
    return definitions;
  }
}
