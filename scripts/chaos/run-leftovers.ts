/**
 * Each chaos run names its topics, subjects, tables and Redis keys `chaos.r<start seconds>.…`
 * (tables with `_` for `.`). A run deletes its own at the end when every fault was survived (a failed run
 * keeps them as evidence), and at its start those of runs that began over an hour ago.
 */
import { loadConfig } from "../../src/contexts/index.js";
import { removeRunData } from "../../test/support/run-data.js";

export const chaosPrefix = (startSeconds: number) => `chaos.r${startSeconds}.`;

/** Names of chaos runs that started over an hour before `nowSeconds`. */
export const staleRun = (nowSeconds: number) => (name: string) => {
  const start = /^chaos\.r(\d+)\./.exec(name)?.[1];
  return start !== undefined && Number(start) < nowSeconds - 3_600;
};

/** How long a deletion may take: its requests have no bound of their own (a DROP TABLE waits out any lock on the table). */
const DELETE_BOUND_MS = 120_000;

/**
 * Deletes the topics, registry subjects, MySQL tables and Redis keys whose names `select` picks.
 * Rejects after {@link DELETE_BOUND_MS}: what is left is stale for the next run to delete.
 */
export async function deleteRunData(select: (name: string) => boolean): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${DELETE_BOUND_MS / 1000} s`)), DELETE_BOUND_MS);
  });
  try {
    await Promise.race([removeRunData(loadConfig(process.env), "chaos", select), bound]);
  } finally {
    clearTimeout(timer);
  }
}
