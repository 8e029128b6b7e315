import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { StackError } from "./stack-error.js";
import { sleep } from "../../platform/sleep.js";

/** What to run detached from this process, with its output going to `logFile`. */
export interface DetachedCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly logFile: string;
  readonly pidFile: string;
}

/**
 * Starts `command` in its own process group with stdin closed and stdout/stderr appended to
 * `logFile`, records its pid in `pidFile` and lets it outlive this process.
 * Rejects with a StackError when the executable cannot be started at all.
 */
export async function spawnDetached(cmd: DetachedCommand): Promise<number> {
  const fd = openSync(cmd.logFile, "a");
  try {
    const child = spawn(cmd.command, [...cmd.args], {
      cwd: cmd.cwd,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", (err) => reject(new StackError(`cannot run ${cmd.command}: ${err.message}`, { cause: err })));
      child.once("spawn", () => resolve(child.pid ?? -1));
    });
    child.unref();
    await writeFile(cmd.pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` names a live process (a zombie counts as dead). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // The state letter follows the parenthesised command name, which may itself hold spaces.
  const state = stat?.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

async function commandLine(pid: number): Promise<string | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  return raw?.replaceAll("\0", " ");
}

/**
 * The pid recorded in `pidFile` if that process is alive and its command line contains
 * `marker` (so a recycled pid is not mistaken for ours); otherwise undefined, and a stale
 * pid file is removed.
 */
export async function ownedPid(pidFile: string, marker: string): Promise<number | undefined> {
  const text = await readFile(pidFile, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number.parseInt(text.trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && (await isAlive(pid))) {
    const cmdline = await commandLine(pid);
    if (cmdline === undefined || cmdline.includes(marker)) return pid;
  }
  await rm(pidFile, { force: true });
  return undefined;
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await sleep(100);
  }
  return !(await isAlive(pid));
}

/**
 * Asks `pid` to stop with SIGTERM, waits up to `graceMs`, then SIGKILLs it.
 * Resolves once the process is gone; rejects with a StackError if even SIGKILL does not end it.
 */
export async function stopProcess(pid: number, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  };
  signal("SIGTERM");
  if (await waitForExit(pid, graceMs)) return;
  signal("SIGKILL");
  if (!(await waitForExit(pid, 5_000))) throw new StackError(`process ${pid} survived SIGKILL`);
}
