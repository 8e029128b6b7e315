import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** The metrics one process exposes on `/metrics`; each role registers its own on `registry`. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly dependencyUp: Gauge<"dependency">;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route">;
}

export function createServiceMetrics(labels: { node: string }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    dependencyUp: new Gauge({
      name: "quikchat_dependency_up",
      help: "1 when the dependency answered the last health check, 0 when it did not",
      labelNames: ["dependency"],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests served, by route and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
