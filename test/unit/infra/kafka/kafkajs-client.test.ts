import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { AvroCodec } from "../../../../src/infra/avro/avro-codec.js";
import { createKafkajs } from "../../../../src/infra/kafka/kafkajs-client.js";
import { RecordProducer } from "../../../../src/infra/kafka/record-producer.js";

describe("the kafkajs client's logs", () => {
  it("explain the record producers' bounded retries in one info line per process, instead of a warning per producer", () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    // A gateway and two processors' timers each make one; nothing is sent, so no codec is needed.
    for (let i = 0; i < 3; i += 1) new RecordProducer(createKafkajs({ brokers: ["127.0.0.1:9"], clientId: "log-test" }, logger), {} as AvroCodec);
    expect(lines.filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([]);
    const explained = lines.filter((line) => line.msg.includes("retry a bounded number of times by design"));
    expect(explained).toHaveLength(1);
    expect(explained[0]?.level).toBe(30);
  });
});
