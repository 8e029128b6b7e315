import { Gauge, type Registry } from "prom-client";
import { shared } from "./service-metrics.js";

/** What each read-model gauge of a registry reads at a scrape, by gauge name: the latest given. */
const readers = new WeakMap<Registry, Map<string, () => Promise<number>>>();

/**
 * A gauge on `registry` set at each scrape from a read model by `read` (e.g. the live calls or
 * huddles in Redis): every process that reports it (gateways, projectors) reports the same
 * whole-service figure, whatever it handled itself, and a restart loses nothing; aggregate it
 * with `max`, not `sum`. A failed read leaves its last value (the store is reported by /health).
 * Registered again (another role of the process), the gauge reads with the latest `read`.
 */
export function readModelGauge(registry: Registry, name: string, help: string, read: () => Promise<number>): Gauge {
  let byName = readers.get(registry);
  if (byName === undefined) readers.set(registry, (byName = new Map<string, () => Promise<number>>()));
  byName.set(name, read);
  return shared(
    registry,
    name,
    () =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const current = readers.get(registry)?.get(name);
          if (current === undefined) return;
          try {
            this.set(await current());
          } catch {
            // Keeps the last value read.
          }
        },
      }),
  );
}
