import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../src/platform/config/project.js";

/** Where the console's browser tests find Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Installs Debian's `chromium` when it is missing (a fresh machine: CI runs as root) with
 * `scripts/install-chromium.sh` (apt-get), so the console's browser tests run on every machine;
 * throws with the script's last lines when it cannot.
 */
export function ensureChromium(log: (line: string) => void = console.log): void {
  if (existsSync(CHROMIUM)) return;
  const script = join(projectRoot(), "scripts", "install-chromium.sh");
  log(`[browser] ${CHROMIUM} is missing: installing Debian's chromium (${script})`);
  const run = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (run.status !== 0 || !existsSync(CHROMIUM)) {
    const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim().split("\n").slice(-20).join("\n");
    throw new Error(`installing the browser for the console tests failed (${script} exited ${run.status ?? run.signal ?? run.error?.message}):\n${output}`);
  }
  log(`[browser] installed ${CHROMIUM}`);
}
