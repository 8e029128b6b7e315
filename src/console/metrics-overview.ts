import type { Registry } from "prom-client";

/** One row of an overview section: its labels and either a value (counters, gauges) or a histogram's summary. */
export interface OverviewRow {
  readonly labels: Readonly<Record<string, string>>;
  /** A counter's total or a gauge's value. */
  readonly value?: number;
  /** A histogram's observations, their sum (seconds) and quantiles estimated from its buckets (upper bounds). */
  readonly count?: number;
  readonly sum?: number;
  readonly p50?: number;
  readonly p99?: number;
}

/** A metric of the process as the console's overview shows it; `kind` tells the page what a rate means (counters and histograms' counts). */
export interface OverviewSection {
  readonly title: string;
  readonly metric: string;
  readonly kind: "counter" | "gauge" | "histogram";
  /** The labels rows are grouped by (the others are summed). */
  readonly by: readonly string[];
  readonly rows: readonly OverviewRow[];
}

/** What the overview shows, in order: the metric, its title, and the labels to group by. A metric this process does not have is left out. */
const SECTIONS: readonly { readonly metric: string; readonly title: string; readonly by: readonly string[] }[] = [
  { metric: "websocket_connections_total", title: "Open sockets (this gateway)", by: [] },
  { metric: "presence_online_users", title: "Online users, per workspace (projector)", by: ["workspace_id"] },
  { metric: "calls_active_total", title: "Calls ringing or active (the whole service)", by: [] },
  { metric: "calls_recording_active_total", title: "Calls being recorded (the whole service)", by: [] },
  { metric: "calls_duration_seconds", title: "Durations of answered calls (projector)", by: ["type"] },
  { metric: "huddles_active_total", title: "Live huddles (the whole service)", by: [] },
  { metric: "huddle_participants_total", title: "Participants in live huddles (the whole service)", by: [] },
  { metric: "quikchat_commands_total", title: "Commands decided (processor)", by: ["context", "outcome"] },
  { metric: "quikchat_command_reply_seconds", title: "Command latency, produce to outcome (gateway)", by: ["context", "type", "outcome"] },
  { metric: "quikchat_command_batch_seconds", title: "Command batches (processor)", by: ["context"] },
  { metric: "quikchat_event_delivery_seconds", title: "Event delivery, event time to push", by: [] },
  { metric: "quikchat_dlq_records_total", title: "Dead-lettered commands", by: ["context"] },
  { metric: "kafka_consumer_lag", title: "Kafka consumer lag", by: ["client", "topic"] },
  { metric: "quikchat_projection_lag", title: "Projection lag", by: ["projection"] },
  { metric: "kafka_produce_latency_seconds", title: "Kafka produce latency", by: ["client"] },
  { metric: "redis_commands_total", title: "Redis commands", by: ["command"] },
  { metric: "redis_latency_seconds", title: "Redis latency", by: ["operation"] },
];

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
}

/** The overview's sections from the process's own metrics registry (the one `/metrics` serves). */
export async function metricsOverview(registry: Registry): Promise<OverviewSection[]> {
  const metrics = new Map((await registry.getMetricsAsJSON()).map((metric) => [metric.name, metric]));
  const sections: OverviewSection[] = [];
  for (const { metric: name, title, by } of SECTIONS) {
    const metric = metrics.get(name);
    if (metric === undefined) continue;
    const values = metric.values as readonly MetricValue[];
    // prom-client's typings say an enum; at run time the type is its name.
    const type = String(metric.type);
    const kind = type === "histogram" ? "histogram" : type === "counter" ? "counter" : "gauge";
    sections.push({ title, metric: name, kind, by, rows: kind === "histogram" ? histogramRows(name, values, by) : valueRows(values, by) });
  }
  return sections;
}

const groupKey = (labels: MetricValue["labels"], by: readonly string[]) => JSON.stringify(by.map((label) => String(labels[label] ?? "")));
const labelsOf = (labels: MetricValue["labels"], by: readonly string[]) => Object.fromEntries(by.map((label) => [label, String(labels[label] ?? "")]));

function valueRows(values: readonly MetricValue[], by: readonly string[]): OverviewRow[] {
  const rows = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const { labels, value } of values) {
    const key = groupKey(labels, by);
    const row = rows.get(key) ?? { labels: labelsOf(labels, by), value: 0 };
    row.value += value;
    rows.set(key, row);
  }
  return [...rows.values()];
}

function histogramRows(name: string, values: readonly MetricValue[], by: readonly string[]): OverviewRow[] {
  const rows = new Map<string, { labels: Record<string, string>; count: number; sum: number; buckets: Map<number, number> }>();
  for (const { labels, value, metricName } of values) {
    const key = groupKey(labels, by);
    let row = rows.get(key);
    if (row === undefined) rows.set(key, (row = { labels: labelsOf(labels, by), count: 0, sum: 0, buckets: new Map() }));
    if (metricName === `${name}_count`) row.count += value;
    else if (metricName === `${name}_sum`) row.sum += value;
    else if (metricName === `${name}_bucket`) {
      const le = labels.le === "+Inf" ? Infinity : Number(labels.le);
      row.buckets.set(le, (row.buckets.get(le) ?? 0) + value);
    }
  }
  return [...rows.values()]
    .filter((row) => row.count > 0)
    .map(({ labels, count, sum, buckets }) => ({ labels, count, sum, p50: quantile(buckets, count, 0.5), p99: quantile(buckets, count, 0.99) }));
}

/** The smallest bucket bound holding the quantile's observation (cumulative buckets); the largest finite bound for the +Inf bucket. */
function quantile(buckets: ReadonlyMap<number, number>, count: number, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const finite = bounds.filter((bound) => Number.isFinite(bound));
  for (const bound of bounds) if ((buckets.get(bound) ?? 0) >= q * count) return Number.isFinite(bound) ? bound : (finite.at(-1) ?? 0);
  return finite.at(-1) ?? 0;
}
