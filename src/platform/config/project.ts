import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The repository root (the folder holding package.json), from `src/` under tsx or from `dist/`. */
export function projectRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  root = dir;
  return dir;
}

/** The service version, from package.json. */
export function projectVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}
