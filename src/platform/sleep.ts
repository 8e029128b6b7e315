/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it yields a value or `ms` pass (then undefined): a write's answer waiting for the read model to show it. */
export async function until<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (let delay = 5; Date.now() < deadline; delay = Math.min(delay * 2, 100)) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(delay);
  }
  return undefined;
}
