import type { Admin } from "kafkajs";
import type { Config } from "../contexts/index.js";
import type { AvroCodec } from "../infra/avro/avro-codec.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import { createLogger, type Logger } from "../infra/log/logger.js";
import { contractCodec } from "./bootstrap.js";
import { waitForDependencies } from "./dependency-wait.js";
import type { ReadOptions } from "./topic-reader.js";

/** What every Kafka tool (`events`, `trace`, `aggregate`, `dlq`, `groups`, `export`) reads with. */
export interface KafkaTools {
  readonly config: Config;
  readonly logger: Logger;
  /** The deployment's topic prefix. */
  readonly prefix: string;
  /** Decodes through the registry (writer schema by id, resolved into this build's schemas); never registers anything. */
  readonly codec: AvroCodec;
  readonly admin: Admin;
  /** Reader settings for `readRecords`, with a client id naming `tool`. */
  readOptions(tool: string, extra?: Partial<Omit<ReadOptions, "brokers" | "clientId" | "logger">>): ReadOptions;
  close(): Promise<void>;
}

/**
 * Opens the tools' connections once Kafka and the registry answer (an `UnreachableDependencyError`
 * names the variable otherwise): a kafkajs admin and a read-only codec. Writes nothing.
 */
export async function openKafkaTools(config: Config, logger: Logger = createLogger({ level: config.service.logLevel, name: "quikchat-tools" })): Promise<KafkaTools> {
  await waitForDependencies(config, ["kafka", "schema_registry"], logger);
  const admin = createKafkajs(config.kafka, logger).admin();
  await admin.connect();
  return {
    config,
    logger,
    prefix: config.kafka.topicPrefix,
    codec: contractCodec(config).codec,
    admin,
    readOptions: (tool, extra = {}) => ({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${tool}`, logger, ...extra }),
    close: () => admin.disconnect(),
  };
}

/** Runs `work` with the Kafka tools, closing them after. */
export async function withKafkaTools<T>(config: Config, work: (tools: KafkaTools) => Promise<T>): Promise<T> {
  const tools = await openKafkaTools(config);
  try {
    return await work(tools);
  } finally {
    await tools.close();
  }
}
