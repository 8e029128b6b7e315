import type Kafka from "node-rdkafka";
import type { Gauge } from "prom-client";

/** How often librdkafka reports a consumer's statistics (its lag among them): each report is one JSON parse. */
export const STATISTICS_INTERVAL_MS = 10_000;

/** librdkafka's statistics, the part read here (see librdkafka's STATISTICS.md). */
interface ConsumerStatistics {
  readonly topics?: Readonly<Record<string, { readonly partitions?: Readonly<Record<string, PartitionStatistics>> }>>;
}

interface PartitionStatistics {
  readonly fetch_state?: string;
  /** The next offset the application will be handed (-1001 before the first record of the assignment). */
  readonly app_offset?: number;
  /** The last stable offset: the end a read_committed consumer can read to. */
  readonly ls_offset?: number;
  /** From the last committed offset; -1 when the group commits through a transaction (a processor) or has not committed. */
  readonly consumer_lag?: number;
}

/**
 * Records not read yet: from the consumer's position when it has one (a processor commits its
 * offsets through its transactions, which librdkafka's own `consumer_lag` does not see), else from
 * the committed offset; undefined when neither is known yet.
 */
export function lagOf(partition: PartitionStatistics): number | undefined {
  const end = partition.ls_offset ?? -1;
  const position = partition.app_offset ?? -1;
  if (end >= 0 && position >= 0) return Math.max(0, end - position);
  const committed = partition.consumer_lag ?? -1;
  return committed >= 0 ? committed : undefined;
}

/**
 * Reports `consumer`'s lag on every partition it fetches into `gauge` (labels `client`, `topic`,
 * `partition`), from librdkafka's statistics: the consumer must be made with
 * `statistics.interval.ms` = {@link STATISTICS_INTERVAL_MS}. A partition no longer fetched (revoked)
 * loses its series, so the label set stays that of the current assignment.
 */
export function reportConsumerLag(consumer: Kafka.KafkaConsumer, gauge: Gauge<"client" | "topic" | "partition">, client: string): void {
  let reported = new Map<string, { topic: string; partition: string }>();
  consumer.on("event.stats", (event: { message: string }) => {
    let statistics: ConsumerStatistics;
    try {
      statistics = JSON.parse(event.message) as ConsumerStatistics;
    } catch {
      return;
    }
    const current = new Map<string, { topic: string; partition: string }>();
    for (const [topic, { partitions = {} } = {}] of Object.entries(statistics.topics ?? {})) {
      for (const [partition, statistics] of Object.entries(partitions)) {
        // -1: librdkafka's internal unassigned partition; "none": not fetched (not assigned).
        const lag = partition === "-1" || (statistics.fetch_state ?? "none") === "none" ? undefined : lagOf(statistics);
        if (lag === undefined) continue;
        gauge.set({ client, topic, partition }, lag);
        current.set(`${topic}\u0000${partition}`, { topic, partition });
      }
    }
    for (const [id, labels] of reported) if (!current.has(id)) gauge.remove({ client, ...labels });
    reported = current;
  });
}
