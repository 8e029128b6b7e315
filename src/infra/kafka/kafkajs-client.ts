import { Kafka, logLevel, type LogEntry } from "kafkajs";
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
