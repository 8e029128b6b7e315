import { ConfigResourceTypes } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { loadSchemaCatalog } from "../../../src/platform/contract/schema-catalog.js";
import { ALL_TOPICS } from "../../../src/platform/contract/topics.js";
import { SchemaRegistrationError, SchemaRegistryClient } from "../../../src/infra/avro/schema-registry-client.js";
import { createKafkajs } from "../../../src/infra/kafka/kafkajs-client.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const prefix = uniquePrefix("bootstrap");
const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
const logger = testLogger();
const kafka = createKafkajs(config.kafka, logger);
const admin = kafka.admin();
const catalog = loadSchemaCatalog();

describe("bootstrap", () => {
  let created: readonly string[];

  beforeAll(async () => {
    await admin.connect();
    created = (await bootstrapContract(config, logger)).createdTopics;
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it("creates every topic of the contract", async () => {
    const expected = ALL_TOPICS.map((topic) => prefix + topic.name);
    expect([...created].sort()).toEqual([...expected].sort());
    const existing = new Set(await admin.listTopics());
    for (const name of expected) expect(existing.has(name)).toBe(true);
  });

  it("compacts changelogs, keeps events forever and expires ephemeral signals", async () => {
    const state = ALL_TOPICS.find((topic) => topic.kind === "state")!;
    const events = ALL_TOPICS.find((topic) => topic.kind === "events" && !topic.ephemeral)!;
    const ephemeral = ALL_TOPICS.find((topic) => topic.kind === "events" && topic.ephemeral)!;
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [state, events, ephemeral].map((topic) => ({ type: ConfigResourceTypes.TOPIC, name: prefix + topic.name })),
    });
    const value = (index: number, name: string) => resources[index]!.configEntries.find((entry) => entry.configName === name)?.configValue;
    expect(value(0, "cleanup.policy")).toBe("compact");
    expect(value(1, "retention.ms")).toBe("-1");
    expect(value(2, "retention.ms")).toBe(String(config.kafka.ephemeralRetentionMs));
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [prefix + events.name] })).topics;
    expect(metadata!.partitions).toHaveLength(2);
  });

  it("registers every record under <topic>-<full name> with FULL compatibility", async () => {
    for (const record of catalog) {
      const versions = await fetch(`${config.registry.url}/subjects/${encodeURIComponent(prefix + record.subject)}/versions`);
      expect([record.subject, versions.status]).toEqual([record.subject, 200]);
    }
    const sample = catalog[0]!;
    const rule = await fetch(`${config.registry.url}/config/${encodeURIComponent(prefix + sample.subject)}`);
    expect(((await rule.json()) as { compatibilityLevel?: string }).compatibilityLevel).toBe("FULL");
  });

  it("is idempotent", async () => {
    const again = await bootstrapContract(config, logger);
    expect(again.createdTopics).toEqual([]);
    expect(again.subjects).toBe(catalog.length);
  });

  it("the registry refuses a version that breaks readers of the registered one", async () => {
    const registry = new SchemaRegistryClient(config.registry);
    const record = catalog[0]!;
    const broken = structuredClone(record.schema) as { fields: object[] };
    broken.fields.push({ name: "mandatoryWithoutDefault", type: "string" });
    await expect(registry.register(prefix + record.subject, broken)).rejects.toBeInstanceOf(SchemaRegistrationError);
  });
});
