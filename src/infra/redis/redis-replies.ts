/**
 * The replies of a pipeline or a MULTI, in command order; throws when Redis discarded it
 * (EXEC after a WATCHed key changed) or on the first command that failed.
 */
export function resultsOf(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error("redis pipeline discarded");
  const failed = results.find(([error]) => error !== null);
  if (failed) throw new Error("redis read failed", { cause: failed[0] });
  return results.map(([, value]) => value);
}
