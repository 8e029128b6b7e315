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

/**
 * What kafkajs warns each time an idempotent producer is made with bounded retries, as
 * `RecordProducer` makes them on purpose: said once per process, with why it is safe here.
 */
const BOUNDED_RETRIES_WARNING = "Limiting retries for the idempotent producer may invalidate EoS guarantees";
const BOUNDED_RETRIES_EXPLAINED =
  "kafkajs producers retry a bounded number of times by design (kafkajs warns this 'may invalidate EoS guarantees'): " +
  "a command given up on is sent again by its client with the same commandId, and processors apply a repeated commandId once";
let boundedRetriesExplained = false;

/** A kafkajs client for the edge (gateway producers, admin, tooling), logging through pino. */
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
        if (message === BOUNDED_RETRIES_WARNING) {
          if (!boundedRetriesExplained) kafkaLogger.info(BOUNDED_RETRIES_EXPLAINED);
          boundedRetriesExplained = true;
          return;
        }
        kafkaLogger[LEVELS[level]](extra, message);
      },
  });
}
