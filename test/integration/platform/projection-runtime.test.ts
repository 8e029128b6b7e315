import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import type { MessageRead } from "../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../src/platform/contract/topics.js";
import type { AvroCodec } from "../../../src/infra/avro/avro-codec.js";
import type { ConsumedRecord } from "../../../src/infra/kafka/record-consumer.js";
import { RecordProducer } from "../../../src/infra/kafka/record-producer.js";
import { ProjectionRuntime, type ProjectionSink } from "../../../src/platform/projection/projection-runtime.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const logger = testLogger();

/**
 * A read model kept in memory (the runtime is what is under test; its stores have their own
 * tests): the checkpoint read fails while `unavailable` is above zero, as a database that is
 * restarting would.
 */
class FlakySink implements ProjectionSink {
  unavailable = 0;
  readonly applied: string[] = [];
  private readonly next = new Map<number, number>();

  async checkpoints(): Promise<Map<number, number>> {
    if (this.unavailable > 0) {
      this.unavailable -= 1;
      throw new Error("connect ECONNREFUSED (the read model's database is restarting)");
    }
    return new Map(this.next);
  }

  async apply(_topic: string, partition: number, records: readonly ConsumedRecord[]): Promise<readonly ConsumedRecord[]> {
    const from = this.next.get(partition) ?? 0;
    const fresh = records.filter((record) => record.offset >= from);
    for (const record of fresh) this.applied.push((record.value as MessageRead).conversationId);
    if (records.length > 0) this.next.set(partition, records.at(-1)!.offset + 1);
    return fresh;
  }
}

describe("the projection runtime", () => {
  const prefix = uniquePrefix("projection-runtime");
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "2" });
  const topic = prefix + TOPICS.messages.events;
  let codec: AvroCodec;
  let producer: RecordProducer;
  const runtimes: ProjectionRuntime[] = [];

  const read = (conversationId: string): MessageRead => ({
    meta: { eventId: `e-${conversationId}`, occurredAt: 1_700_000_000_000, correlationId: "c", causationId: null, actorId: "bob", workspaceId: "w1" },
    conversationId,
    seq: 1,
    userId: "bob",
    messageId: null,
  });

  beforeAll(async () => {
    ({ codec } = await bootstrapContract(config, logger));
    producer = new RecordProducer(config.kafka, codec, logger);
  });

  afterAll(async () => {
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    await producer.close();
  });

  it("still takes its partitions when reading the checkpoints failed at assignment", async () => {
    const conversations = Array.from({ length: 8 }, (_, i) => `c${i}`);
    await producer.send(conversations.map((id) => ({ topic, key: id, fullName: "quikchat.messages.MessageRead", value: read(id) })));

    const sink = new FlakySink();
    // The first read (at assignment) and the first retry fail; the next one succeeds.
    sink.unavailable = 2;
    const runtime = new ProjectionRuntime(
      { name: "flaky", brokers: config.kafka.brokers, clientId: "projection-runtime-test", groupPrefix: prefix, topics: [topic] },
      sink,
      codec,
      logger,
    );
    runtimes.push(runtime);
    await runtime.start();

    await eventually(async () => (sink.applied.length >= conversations.length ? true : undefined), 30_000, "every record applied");
    expect(sink.unavailable).toBe(0);
    expect([...sink.applied].sort()).toEqual(conversations);
  });
});
