import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isAlive } from "./process-control.js";
import { StackError } from "./stack-error.js";
import { sleep } from "../../platform/sleep.js";

/** A lock older than this is taken to be left over, whatever its pid says. */
const STALE_MS = 30 * 60_000;

/** The lock's content when its holder is gone (or it is too old), else undefined. */
async function staleContent(file: string): Promise<string | undefined> {
  const [text, info] = await Promise.all([readFile(file, "utf8").catch(() => ""), stat(file).catch(() => undefined)]);
  if (info === undefined) return undefined; // gone already: just try again
  const age = Date.now() - info.mtimeMs;
  const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
  // An empty file is a lock being written right now unless it has been empty for a while.
  if (!Number.isInteger(pid) || pid <= 0) return age > 5_000 ? text : undefined;
  return !(await isAlive(pid)) || age > STALE_MS ? text : undefined;
}

/**
 * Runs `fn` while holding `<dir>/.lock`, created with O_EXCL so that two processes managing
 * the same stack directory take turns. A lock whose holder died is removed. Rejects with a
 * StackError naming the holder when the lock is not free within `timeoutMs`.
 */
export async function withStackLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, ".lock");
  const token = `${process.pid}\n${Date.now()}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await writeFile(file, token, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const stale = await staleContent(file);
    if (stale !== undefined) {
      // Re-read so that a waiter who broke the same stale lock a moment ago keeps its new one.
      if ((await readFile(file, "utf8").catch(() => undefined)) === stale) await rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      const holder = (await readFile(file, "utf8").catch(() => "")).split("\n")[0];
      throw new StackError(`another stack command (pid ${holder || "?"}) holds ${file}; wait for it or delete the file`);
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    // Only remove the lock if it is still ours (a stale-lock breaker may have replaced it).
    if ((await readFile(file, "utf8").catch(() => "")) === token) await rm(file, { force: true });
  }
}
