import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../src/contexts/index.js";
import { createLogger, type Logger } from "../../src/infra/log/logger.js";
import { sleep } from "../../src/platform/sleep.js";

/**
 * The prefix of every topic this test run creates: `test.r<start seconds>.`, set by the global
 * setup so that its teardown deletes this run's topics and no concurrent run's.
 */
export function runPrefix(): string {
  return process.env.QUIKCHAT_TEST_RUN ?? "test.adhoc.";
}

/** A topic/subject/table prefix no other test uses. */
export function uniquePrefix(label: string): string {
  return `${runPrefix()}${label}.${randomBytes(4).toString("hex")}.`;
}

/** The configuration of the local stack, with per-test isolation and overrides. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, LOG_LEVEL: "warn", ...env });
}

export function testLogger(): Logger {
  return createLogger({ level: process.env.TEST_LOG_LEVEL ?? "warn", name: "test" });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

/**
 * Waits until a freshly started projection announces what it applies: records that arrive
 * before its partitions are assigned count as catch-up and publish nothing, so `poke` writes a
 * new warm-up record (attempt 1, 2, …) every half second until `announced()` saw one.
 */
export async function untilProjectionLive(poke: (attempt: number) => Promise<unknown>, announced: () => boolean): Promise<void> {
  let attempt = 0;
  await eventually(
    async () => {
      await poke((attempt += 1));
      await sleep(500);
      return announced() ? true : undefined;
    },
    60_000,
    "the projection to go live",
  );
}
