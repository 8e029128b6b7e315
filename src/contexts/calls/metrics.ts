import { Histogram, type Registry } from "prom-client";
import { readModelGauge } from "../../infra/metrics/read-model-gauge.js";
import { shared } from "../../infra/metrics/service-metrics.js";
import type { CallType } from "../../platform/contract/generated/avro-types.js";

/** What the calls' gauges count, read from the live-calls read model at each scrape. */
export interface LiveCallCounts {
  activeCalls(): Promise<number>;
  recordingCalls(): Promise<number>;
}

/**
 * `calls_active_total` (calls ringing or active) and `calls_recording_active_total` (live calls
 * with a recording running) on `registry`, measured at each scrape from the live-calls read
 * model: every process that reports them (gateways, projectors) reports the same whole-service
 * count, whatever it handled itself, and a restart loses nothing. Aggregate them with `max`, not
 * `sum`.
 */
export function liveCallGauges(registry: Registry, counts: LiveCallCounts): void {
  readModelGauge(registry, "calls_active_total", "Calls ringing or active now, in the whole service (the live-calls read model)", () => counts.activeCalls());
  readModelGauge(registry, "calls_recording_active_total", "Live calls with a recording running now, in the whole service (the live-calls read model)", () => counts.recordingCalls());
}

/** Call durations from 1 s to 2 h. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200];

/**
 * `calls_duration_seconds{type}`: how long each answered call lasted (from its first answer to
 * its end), by `audio` or `video`; observed once per call, by the live-calls projection when it
 * applies the call's end live (never while catching up or rebuilding). Calls that ended unanswered
 * (no answer, rejected, cancelled) have no duration and are not observed.
 */
export function callDurationSeconds(registry: Registry): Histogram<"type"> {
  return shared(
    registry,
    "calls_duration_seconds",
    () =>
      new Histogram({
        name: "calls_duration_seconds",
        help: "Durations of answered calls, from the first answer to the end, by type (audio, video)",
        labelNames: ["type"],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  );
}

/** Observes the duration of one answered call that ended. */
export function observeCallEnd(histogram: Histogram<"type">, callType: CallType, durationMs: number): void {
  histogram.observe({ type: callType }, durationMs / 1_000);
}
