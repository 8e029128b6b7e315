/**
 * Writes src/platform/contract/generated/avro-types.ts from the .avsc files in schemas/.
 *
 *   tsx scripts/gen-avro-types.ts          regenerate (the file is left untouched when unchanged)
 *   tsx scripts/gen-avro-types.ts --check  exit 1 when the file on disk is stale
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { GENERATED_TYPES_FILE, renderAvroTypes } from "../src/platform/contract/avro-typegen.js";
import { loadContextSpecs } from "../src/platform/contract/context-specs.js";
import { loadSchemaCatalog } from "../src/platform/contract/schema-catalog.js";
import { projectRoot } from "../src/platform/config/project.js";

function main(args: readonly string[]): number {
  const unknown = args.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(" ")}; usage: tsx scripts/gen-avro-types.ts [--check]`);
    return 2;
  }
  const root = projectRoot();
  const records = loadSchemaCatalog({ root });
  const text = renderAvroTypes(records, loadContextSpecs(root));
  const path = join(root, GENERATED_TYPES_FILE);
  const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;

  if (args.includes("--check")) {
    if (current === text) return 0;
    console.error(`${GENERATED_TYPES_FILE} is ${current === undefined ? "missing" : "out of date with schemas/"}: run npm run gen:types`);
    return 1;
  }
  // Unchanged output keeps its mtime, so incremental builds do not recompile for nothing.
  if (current !== text) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${GENERATED_TYPES_FILE} (${records.length} commands and events)`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  // A schema error names its file; a stack trace would only hide that.
  console.error(`gen-avro-types: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
