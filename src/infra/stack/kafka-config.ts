import { randomBytes } from "node:crypto";
import type { MavenArtifact } from "./maven.js";

// What a single-node KRaft broker is made of: its Maven artifacts, config files and cluster id.

export const kafkaMajor = (version: string): number => Number(version.split(".")[0]);

/** Kafka's pom declares only slf4j-api: the binding its distribution ships must be added. */
export function kafkaArtifacts(version: string): MavenArtifact[] {
  const kafka = { groupId: "org.apache.kafka", artifactId: "kafka_2.13", version };
  if (kafkaMajor(version) >= 4) {
    return [
      kafka,
      // Kafka 4.0 still logs through slf4j-api 1.7, so the slf4j 1.x binding of log4j 2.
      { groupId: "org.apache.logging.log4j", artifactId: "log4j-slf4j-impl", version: "2.24.3" },
      { groupId: "org.apache.logging.log4j", artifactId: "log4j-core", version: "2.24.3" },
    ];
  }
  return [
    kafka,
    { groupId: "org.slf4j", artifactId: "slf4j-reload4j", version: "1.7.36" },
    { groupId: "ch.qos.reload4j", artifactId: "reload4j", version: "1.2.25" },
  ];
}

/** The broker's server.properties: one KRaft node that is broker and controller, tuned to start fast. */
export function serverProperties(o: { host: string; port: number; controllerPort: number; logDir: string }): string {
  const hostPort = (p: number): string => (o.host.includes(":") ? `[${o.host}]:${p}` : `${o.host}:${p}`);
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${hostPort(o.controllerPort)}`,
    `listeners=PLAINTEXT://${hostPort(o.port)},CONTROLLER://${hostPort(o.controllerPort)}`,
    `advertised.listeners=PLAINTEXT://${hostPort(o.port)}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    `log.dirs=${o.logDir}`,
    "num.partitions=3",
    "default.replication.factor=1",
    "min.insync.replicas=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=10",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=10",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=false",
    "delete.topic.enable=true",
    // The cleaner's default 128 MiB dedupe buffer would take a large part of a small heap.
    "log.cleaner.dedupe.buffer.size=33554432",
    "num.network.threads=2",
    "num.io.threads=4",
    "num.recovery.threads.per.data.dir=2",
    "",
  ].join("\n");
}

/** A log4j 1.x (reload4j) config sending everything at INFO to `logFile`, nothing to the console. */
export function log4jProperties(logFile: string): string {
  return [
    "log4j.rootLogger=INFO, file",
    "log4j.appender.file=org.apache.log4j.RollingFileAppender",
    `log4j.appender.file.File=${logFile}`,
    "log4j.appender.file.Append=true",
    "log4j.appender.file.MaxFileSize=50MB",
    "log4j.appender.file.MaxBackupIndex=2",
    "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
    "log4j.logger.kafka.request.logger=WARN",
    "log4j.logger.state.change.logger=WARN",
    "",
  ].join("\n");
}

/** The same for Kafka 4, which logs through log4j 2. */
export function log4j2Properties(logFile: string): string {
  return [
    "appender.file.type=RollingFile",
    "appender.file.name=file",
    `appender.file.fileName=${logFile}`,
    `appender.file.filePattern=${logFile}.%i`,
    "appender.file.layout.type=PatternLayout",
    "appender.file.layout.pattern=[%d] %p %m (%c)%n",
    "appender.file.policies.type=Policies",
    "appender.file.policies.size.type=SizeBasedTriggeringPolicy",
    "appender.file.policies.size.size=50MB",
    "appender.file.strategy.type=DefaultRolloverStrategy",
    "appender.file.strategy.max=2",
    "rootLogger.level=INFO",
    "rootLogger.appenderRef.file.ref=file",
    "",
  ].join("\n");
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, never starting with '-' (as Kafka's own). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

