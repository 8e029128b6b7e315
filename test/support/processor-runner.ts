/**
 * Runs the conversations processor in a process of its own, as the `processor` role would, so
 * that tests can kill it with SIGKILL. Configured by the environment (`KAFKA_TOPIC_PREFIX`,
 * `NODE_NAME`, …) plus `PROCESSOR_BATCH_SIZE`, `PROCESSOR_SESSION_TIMEOUT_MS` and
 * `PROCESSOR_TRANSACTION_TIMEOUT_MS`. Closes on SIGTERM; exits with 1 when the processor stops on its own.
 */
import { Registry } from "prom-client";
import { conversationsProcessor } from "./processor-membership-definition.js";
import { processorDeps } from "./processor-harness.js";
import { startProcessor } from "../../src/platform/processor/processor-runtime.js";
import { loadConfig } from "../../src/contexts/index.js";
import { loadSchemaCatalog } from "../../src/platform/contract/schema-catalog.js";
import { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import { SchemaRegistryClient } from "../../src/infra/avro/schema-registry-client.js";
import { createLogger } from "../../src/infra/log/logger.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";

const config = loadConfig(process.env);
const logger = createLogger({ level: config.service.logLevel, name: "processor-runner", nodeId: config.service.nodeId });
const prefix = config.kafka.topicPrefix;
const records = loadSchemaCatalog()
  .filter((record) => record.context === "conversations")
  .map((record) => ({ ...record, subject: prefix + record.subject }));
const codec = new AvroCodec(new SchemaRegistryClient(config.registry), records);
await codec.registerAll();
const redis = createRedis(config.redis.url, logger, { name: "processor-runner" });
const optionalNumber = (name: string): number | undefined => (process.env[name] === undefined ? undefined : Number(process.env[name]));
const processor = await startProcessor(
  conversationsProcessor,
  processorDeps(config, { codec, redis, logger, registry: new Registry() }),
  {
    // A fixed batch size: a backlog must not grow the batches the test sized.
    ...(optionalNumber("PROCESSOR_BATCH_SIZE") === undefined
      ? {}
      : { batchSize: optionalNumber("PROCESSOR_BATCH_SIZE")!, maxBatchSize: optionalNumber("PROCESSOR_BATCH_SIZE")! }),
    ...(optionalNumber("PROCESSOR_SESSION_TIMEOUT_MS") === undefined ? {} : { sessionTimeoutMs: optionalNumber("PROCESSOR_SESSION_TIMEOUT_MS")! }),
    ...(optionalNumber("PROCESSOR_TRANSACTION_TIMEOUT_MS") === undefined
      ? {}
      : { transactionTimeoutMs: optionalNumber("PROCESSOR_TRANSACTION_TIMEOUT_MS")! }),
  },
);
process.once("SIGTERM", () => {
  void processor.close().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
void processor.stopped.then((error) => {
  if (error !== undefined) process.exit(1);
});
