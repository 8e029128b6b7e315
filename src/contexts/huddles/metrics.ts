import type { Registry } from "prom-client";
import { readModelGauge } from "../../infra/metrics/read-model-gauge.js";

/** What the huddles' gauges count, read from the live-huddles read model at each scrape. */
export interface LiveHuddleCounts {
  liveCount(): Promise<number>;
  participantCount(): Promise<number>;
}

/**
 * `huddles_active_total` (live huddles) and `huddle_participants_total` (participants in them)
 * on `registry`, measured at each scrape from the live-huddles read model, the same
 * whole-service figure on every process that reports them (see `readModelGauge`).
 */
export function liveHuddleGauges(registry: Registry, counts: LiveHuddleCounts): void {
  readModelGauge(registry, "huddles_active_total", "Live huddles now, in the whole service (the live-huddles read model)", () => counts.liveCount());
  readModelGauge(registry, "huddle_participants_total", "Participants in the live huddles now, in the whole service (the live-huddles read model)", () => counts.participantCount());
}
