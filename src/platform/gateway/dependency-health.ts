/**
 * A dependency the service needs, checked for real on every readiness request.
 * `check` resolves when the dependency answered a request within `timeoutMs` and rejects
 * otherwise; it never hangs past the timeout and never throws synchronously.
 */
export interface DependencyProbe {
  readonly name: string;
  check(timeoutMs: number): Promise<void>;
}

export type DependencyState = "healthy" | "unhealthy";

export interface DependencyReport {
  readonly healthy: boolean;
  readonly dependencies: Readonly<Record<string, DependencyState>>;
  /** Why each unhealthy dependency failed, for logs (never sent to clients). */
  readonly failures: Readonly<Record<string, string>>;
}

/** Runs every probe in parallel, each bounded by `timeoutMs`. */
export async function checkDependencies(probes: readonly DependencyProbe[], timeoutMs: number): Promise<DependencyReport> {
  const results = await Promise.all(
    probes.map(async (probe) => {
      try {
        await withTimeout(probe.check(timeoutMs), timeoutMs, `${probe.name} did not answer within ${timeoutMs} ms`);
        return { name: probe.name, error: undefined };
      } catch (error) {
        return { name: probe.name, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  const dependencies: Record<string, DependencyState> = {};
  const failures: Record<string, string> = {};
  for (const { name, error } of results) {
    dependencies[name] = error === undefined ? "healthy" : "unhealthy";
    if (error !== undefined) failures[name] = error;
  }
  return { healthy: Object.keys(failures).length === 0, dependencies, failures };
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
