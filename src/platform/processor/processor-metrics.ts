import { Counter, Histogram, type Registry } from "prom-client";
import { kafkaMetrics, type KafkaMetrics } from "../../infra/metrics/service-metrics.js";

/** How a command ended, the `outcome` label of `quikchat_commands_total`. */
export type CommandCount = "accepted" | "rejected" | "duplicate" | "failed";

export interface ProcessorMetrics {
  /** Commands committed, by context and how they ended (`failed`: sent to the dead-letter topic). */
  readonly commands: Counter<"context" | "outcome">;
  /** One batch: decode, decide, produce, commit its transaction, publish the replies. */
  readonly batchSeconds: Histogram<"context">;
  readonly deadLetters: Counter<"context">;
  /** Restoring the state of newly assigned partitions from the changelog. */
  readonly restoreSeconds: Histogram<"context">;
  /** Commands issued by timers (appended to the commands topic), by the command's context. */
  readonly timerCommands: Counter<"context">;
  /** The process's Kafka client metrics: the processor's consumer lag, its transactions' and its timers' produce latency. */
  readonly kafka: KafkaMetrics;
}

/** The processor metrics on `registry`, created on first use and shared by every runtime of the process. */
export function processorMetrics(registry: Registry): ProcessorMetrics {
  const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined;
  return {
    kafka: kafkaMetrics(registry),
    commands:
      existing<Counter<"context" | "outcome">>("quikchat_commands_total") ??
      new Counter({
        name: "quikchat_commands_total",
        help: "Commands processed, by context and outcome (accepted, rejected, duplicate, failed)",
        labelNames: ["context", "outcome"],
        registers: [registry],
      }),
    batchSeconds:
      existing<Histogram<"context">>("quikchat_command_batch_seconds") ??
      new Histogram({
        name: "quikchat_command_batch_seconds",
        help: "Time to process one batch of commands, transaction commit and replies included",
        labelNames: ["context"],
        buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
    deadLetters:
      existing<Counter<"context">>("quikchat_dlq_records_total") ??
      new Counter({
        name: "quikchat_dlq_records_total",
        help: "Commands written to the dead-letter topic",
        labelNames: ["context"],
        registers: [registry],
      }),
    restoreSeconds:
      existing<Histogram<"context">>("quikchat_processor_restore_seconds") ??
      new Histogram({
        name: "quikchat_processor_restore_seconds",
        help: "Time to restore the state of newly assigned partitions from the changelog",
        labelNames: ["context"],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
    timerCommands:
      existing<Counter<"context">>("quikchat_timer_commands_total") ??
      new Counter({
        name: "quikchat_timer_commands_total",
        help: "Commands issued by processor timers at an aggregate's deadline, by context of the command",
        labelNames: ["context"],
        registers: [registry],
      }),
  };
}
