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

/** Deletes the topics, registry subjects, MySQL tables and Redis keys whose names `select` picks. */
export async function deleteRunData(select: (name: string) => boolean): Promise<void> {
  await removeRunData(loadConfig(process.env), "chaos", select);
}
