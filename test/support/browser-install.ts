import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Where the console's browser tests find Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Installs Debian's `chromium` when it is missing (a fresh machine: CI runs as root), so the
 * console's browser tests run on every machine; throws, naming the command and its output, when
 * it cannot. Nothing is downloaded but the distribution's own package.
 */
export function ensureChromium(log: (line: string) => void = console.log): void {
  if (existsSync(CHROMIUM)) return;
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const steps = [
    ["apt-get", "update"],
    ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
  ];
  for (const step of steps) {
    const command = [...asRoot, ...step];
    log(`[browser] ${CHROMIUM} is missing: ${command.join(" ")}`);
    const run = spawnSync(command[0]!, command.slice(1), { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdio: ["ignore", "pipe", "pipe"] });
    if (run.status !== 0) {
      const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim().split("\n").slice(-20).join("\n");
      throw new Error(`installing the browser for the console tests failed: \`${command.join(" ")}\` exited ${run.status ?? run.signal ?? run.error?.message}\n${output}`);
    }
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
  log(`[browser] installed ${CHROMIUM}`);
}
