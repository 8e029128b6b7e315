import type { CoreConfig } from "../platform/config/core-config.js";
import { COMPATIBILITY_RULE } from "../platform/contract/compatibility.js";
import { loadSchemaCatalog } from "../platform/contract/schema-catalog.js";
import { ALL_TOPICS } from "../platform/contract/topics.js";
import { AvroCodec, type CodecRecord } from "../infra/avro/avro-codec.js";
import { SchemaRegistryClient } from "../infra/avro/schema-registry-client.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import { ensureTopics } from "../infra/kafka/topic-bootstrap.js";
import type { Logger } from "../infra/log/logger.js";

export interface BootstrapResult {
  readonly codec: AvroCodec;
  readonly registry: SchemaRegistryClient;
  readonly createdTopics: readonly string[];
  readonly subjects: number;
}

/**
 * The contract's codec, for the configured prefix and registry, without a write: it decodes
 * what it reads (fetching writer schemas by id); encoding needs {@link bootstrapContract}.
 */
export function contractCodec(config: CoreConfig): { readonly codec: AvroCodec; readonly registry: SchemaRegistryClient; readonly records: readonly CodecRecord[] } {
  const registry = new SchemaRegistryClient(config.registry);
  const records = loadSchemaCatalog().map((record) => ({ ...record, subject: config.kafka.topicPrefix + record.subject }));
  return { codec: new AvroCodec(registry, records), registry, records };
}

/**
 * Makes the cluster match the contract: creates missing topics (with the configured prefix)
 * and registers every schema under `<topic>-<record full name>` with FULL compatibility (old and new
 * readers both read every version: data teams consume these topics directly).
 * Idempotent; run by every role on start and by `quikchat bootstrap`.
 */
export async function bootstrapContract(config: CoreConfig, logger: Logger): Promise<BootstrapResult> {
  const prefix = config.kafka.topicPrefix;
  const kafka = createKafkajs(config.kafka, logger);
  const admin = kafka.admin();
  let createdTopics: string[];
  try {
    await admin.connect();
    createdTopics = await ensureTopics(
      admin,
      ALL_TOPICS.map((topic) => ({ ...topic, name: prefix + topic.name })),
      config.kafka,
    );
  } finally {
    await admin.disconnect();
  }
  if (createdTopics.length > 0) logger.info({ topics: createdTopics.length }, "created topics");

  const { codec, registry, records } = contractCodec(config);
  await codec.registerAll();
  // After registering: a registry may refuse rules for subjects that do not exist yet.
  for (const record of records) await registry.setCompatibility(record.subject, COMPATIBILITY_RULE);
  logger.info({ subjects: records.length }, "schemas registered");
  return { codec, registry, createdTopics, subjects: records.length };
}
