import { Kafka, logLevel, Partitioners, type LogEntry, type Producer } from "kafkajs";
import type { Logger } from "../log/logger.js";

export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

const LEVELS: Record<logLevel, "error" | "warn" | "info" | "debug"> = {
  [logLevel.NOTHING]: "debug",
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** A kafkajs client for administration and tooling (topics, probes, offsets), logging through pino. */
export function createKafkajs(
  settings: KafkaSettings,
  logger: Logger,
  options: { retries?: number; quiet?: boolean } = {},
): Kafka {
  // A quiet client (health probes) reports failures through its caller instead of logging each retry.
  const kafkaLogger = logger.child({ component: "kafkajs" }, options.quiet ? { level: "silent" } : {});
  return new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: options.retries ?? 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[LEVELS[level]](extra, message);
      },
  });
}

/**
 * An idempotent kafkajs producer, not connected yet, for commands a process issues itself (a
 * policy reacting to events, a replay of dead letters): one request in flight, so retries keep
 * the order; topics must exist; keys go to the partitions the Java client would choose, as every
 * other producer of the service does.
 */
export function createIdempotentProducer(settings: KafkaSettings, logger: Logger): Producer {
  return createKafkajs(settings, logger).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}
