import { describe, expect, it } from "vitest";
import { javaMajor } from "../../../../src/infra/stack/java.js";
import { log4jProperties, newClusterId, serverProperties } from "../../../../src/infra/stack/kafka-config.js";
import { runtimePom } from "../../../../src/infra/stack/maven.js";

const props = (text: string): Map<string, string> =>
  new Map(text.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

describe("Kafka broker config", () => {
  const config = props(serverProperties({ host: "127.0.0.1", port: 9092, controllerPort: 9093, logDir: "/x/data" }));

  it("is a single KRaft node that is broker and controller", () => {
    expect(config.get("process.roles")).toBe("broker,controller");
    expect(config.get("node.id")).toBe("1");
    expect(config.get("controller.quorum.voters")).toBe("1@127.0.0.1:9093");
    expect(config.get("listeners")).toBe("PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
    expect(config.get("advertised.listeners")).toBe("PLAINTEXT://127.0.0.1:9092");
    expect(config.get("controller.listener.names")).toBe("CONTROLLER");
    expect(config.get("log.dirs")).toBe("/x/data");
  });

  it("suits one node: replication 1, no rebalance delay, no auto-created topics", () => {
    expect(config.get("offsets.topic.replication.factor")).toBe("1");
    expect(config.get("transaction.state.log.replication.factor")).toBe("1");
    expect(config.get("transaction.state.log.min.isr")).toBe("1");
    expect(config.get("group.initial.rebalance.delay.ms")).toBe("0");
    expect(config.get("num.partitions")).toBe("3");
    expect(config.get("auto.create.topics.enable")).toBe("false");
  });

  it("brackets IPv6 hosts", () => {
    const v6 = props(serverProperties({ host: "::1", port: 9092, controllerPort: 9093, logDir: "/d" }));
    expect(v6.get("listeners")).toBe("PLAINTEXT://[::1]:9092,CONTROLLER://[::1]:9093");
  });

  it("logs at INFO to the given file only", () => {
    const log4j = props(log4jProperties("/x/kafka.log"));
    expect(log4j.get("log4j.rootLogger")).toBe("INFO, file");
    expect(log4j.get("log4j.appender.file.File")).toBe("/x/kafka.log");
    expect([...log4j.values()].join(" ")).not.toContain("ConsoleAppender");
  });

  it("makes cluster ids Kafka accepts: 16 bytes in base64url, not starting with '-'", () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, "base64url")).toHaveLength(16);
    }
  });
});

describe("Java version parsing", () => {
  it("reads the major version in both numbering schemes", () => {
    expect(javaMajor("17.0.15")).toBe(17);
    expect(javaMajor("25")).toBe(25);
    expect(javaMajor("21-ea")).toBe(21);
    expect(javaMajor("1.8.0_402")).toBe(8);
    expect(javaMajor("garbage")).toBeUndefined();
  });
});

describe("runtime pom", () => {
  it("depends on each artifact, escaping XML", () => {
    const pom = runtimePom("kafka-3.9.1", [
      { groupId: "org.apache.kafka", artifactId: "kafka_2.13", version: "3.9.1" },
      { groupId: "g<", artifactId: "a&", version: "1" },
    ]);
    expect(pom).toContain("<groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>3.9.1</version>");
    expect(pom).toContain("<groupId>g&#60;</groupId><artifactId>a&#38;</artifactId>");
    expect(pom).toContain("<packaging>pom</packaging>");
  });
});
