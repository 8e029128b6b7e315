import { Counter, Gauge, type Registry } from "prom-client";
import { shared } from "../../infra/metrics/service-metrics.js";

/** Typing pushes a gateway handled: start and stop forwarded, renew forwarded, coalesced (a repeat not forwarded). */
export function typingOperations(registry: Registry): Counter<"operation"> {
  return shared(
    registry,
    "typing_operations_total",
    () =>
      new Counter({
        name: "typing_operations_total",
        help: "Typing pushes handled by the gateway, by operation (start, renew, stop, coalesced)",
        labelNames: ["operation"],
        registers: [registry],
      }),
  );
}

const activeSources = new WeakMap<Registry, () => number>();

/**
 * `typing_active_users` on `registry`: at each scrape, what `count` says (the latest one given
 * wins: one typing projection runs per process).
 */
export function typingActiveUsersGauge(registry: Registry, count: () => number): Gauge {
  activeSources.set(registry, count);
  return shared(
    registry,
    "typing_active_users",
    () =>
      new Gauge({
        name: "typing_active_users",
        help: "Typing indicators (conversation, user) live now, among those of the partitions this process projects",
        registers: [registry],
        collect() {
          const source = activeSources.get(registry);
          if (source !== undefined) this.set(source());
        },
      }),
  );
}
