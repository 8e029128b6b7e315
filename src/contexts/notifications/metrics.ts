import { Counter, Histogram, type Registry } from "prom-client";
import { shared } from "../../infra/metrics/service-metrics.js";

/** The notifier's measures, on the process's registry. */
export interface NotifierMetrics {
  /** `notifications_sent_total{provider,type}`: pushes a provider accepted, by provider (`apns`, `fcm`) and push type (`alert`, `voip`, `background` for silent ones). */
  readonly sent: Counter<"provider" | "type">;
  /**
   * `notifications_failed_total{provider,reason}`: pushes recorded failed, by provider and why
   * (`token_dead`, `auth_failed`, `refused`, `retries_exhausted`, `provider_not_configured`).
   */
  readonly failed: Counter<"provider" | "reason">;
  /** `notifications_notify_latency_seconds{provider}`: from the request's `occurredAt` to the first provider request of each push. */
  readonly latency: Histogram<"provider">;
  /** `notifications_retries_total{provider}`: sends made again after a provider answered "later" (429, 5xx, unreachable). */
  readonly retries: Counter<"provider">;
}

/** The notifier's metrics on `registry` (made once per registry). */
export function notifierMetrics(registry: Registry): NotifierMetrics {
  return {
    sent: shared(registry, "notifications_sent_total", () => new Counter({ name: "notifications_sent_total", help: "Pushes a provider accepted, by provider and push type", labelNames: ["provider", "type"], registers: [registry] })),
    failed: shared(registry, "notifications_failed_total", () => new Counter({ name: "notifications_failed_total", help: "Pushes recorded failed, by provider and reason", labelNames: ["provider", "reason"], registers: [registry] })),
    latency: shared(
      registry,
      "notifications_notify_latency_seconds",
      () =>
        new Histogram({
          name: "notifications_notify_latency_seconds",
          help: "From a notification's request (occurredAt) to the first provider request of each of its pushes",
          labelNames: ["provider"],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers: [registry],
        }),
    ),
    retries: shared(registry, "notifications_retries_total", () => new Counter({ name: "notifications_retries_total", help: "Pushes sent again after the provider answered later (429, 5xx, unreachable)", labelNames: ["provider"], registers: [registry] })),
  };
}
