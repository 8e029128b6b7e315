import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { projectRoot } from "../../../src/platform/config/project.js";
import type { MessageSent } from "../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../src/platform/contract/topics.js";
import { createKafkajs } from "../../../src/infra/kafka/kafkajs-client.js";
import { RecordProducer } from "../../../src/infra/kafka/record-producer.js";
import { messageSent } from "../../support/message-events.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

/** The example a data engineer copies (examples/analytics-consumer.mjs), run as they would run it. */
describe("the example analytics consumer", () => {
  const prefix = uniquePrefix("example");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
  const logger = testLogger();
  const topic = prefix + TOPICS.messages.events;
  const groupId = `${prefix}analytics-example`;
  let producer: RecordProducer;

  const sent = (conversationId: string, seq: number): MessageSent =>
    messageSent(
      conversationId,
      seq,
      { eventId: `${conversationId}:${seq}`, occurredAt: 1_700_000_000_000 + seq, correlationId: `k-${seq}`, causationId: `cmd-${seq}`, actorId: "alice", workspaceId: "w1" },
      { content: `${conversationId} #${seq}` },
    );


  beforeAll(async () => {
    const { codec } = await bootstrapContract(config, logger);
    producer = new RecordProducer(config.kafka, codec, logger);
    const records = ["c1", "c2", "c3"].flatMap((id) => [1, 2, 3].map((seq) => sent(id, seq)));
    await producer.send(records.map((value) => ({ topic, key: value.conversationId, fullName: "quikchat.messages.MessageSent", value })));
  });

  afterAll(async () => {
    await producer.close();
    const admin = createKafkajs(config.kafka, logger).admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  });

  it("decodes every record of a topic through the registry, in order per key", async () => {
    const child = spawn(process.execPath, ["examples/analytics-consumer.mjs"], {
      cwd: projectRoot(),
      env: { ...process.env, KAFKA_BROKERS: config.kafka.brokers.join(","), SCHEMA_REGISTRY_URL: config.registry.url, TOPIC: topic, GROUP_ID: groupId, EXIT_WHEN_IDLE_MS: "4000" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, stderr).toBe(0);

    const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as { key: string; record: string; value: MessageSent; partition: number; offset: number });
    expect(lines).toHaveLength(9);
    expect(new Set(lines.map((line) => line.record))).toEqual(new Set(["quikchat.messages.MessageSent"]));
    for (const id of ["c1", "c2", "c3"]) {
      const ofKey = lines.filter((line) => line.key === id);
      expect(ofKey.map((line) => line.value.seq)).toEqual([1, 2, 3]);
      expect(new Set(ofKey.map((line) => line.partition)).size).toBe(1);
    }
    expect(lines.find((line) => line.key === "c2")?.value).toMatchObject({ content: "c2 #1", meta: { eventId: "c2:1", correlationId: "k-1" } });
  });
});
