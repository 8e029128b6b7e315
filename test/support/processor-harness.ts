import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import Kafka from "node-rdkafka";
import type { Registry } from "prom-client";
import type { CommandOutcome } from "../../src/platform/processor/command-outcome.js";
import { replyChannel } from "../../src/platform/processor/command-outcome.js";
import type { Config } from "../../src/contexts/index.js";
import type { AddMember, CommandMeta, CreateConversation, EditMessage, SendMessage } from "../../src/platform/contract/generated/avro-types.js";
import type { AvroCodec } from "../../src/infra/avro/avro-codec.js";
import type { OutgoingRecord } from "../../src/infra/kafka/record-producer.js";
import type { Logger } from "../../src/infra/log/logger.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import { RedisReplyPublisher } from "../../src/infra/redis/redis-reply-publisher.js";
import type { ProcessorDeps } from "../../src/platform/processor/processor-runtime.js";
import { eventually } from "./test-config.js";

/** What `startProcessor` needs, wired as the `processor` role wires it: replies published on `redis`. */
export function processorDeps(
  config: Config,
  { codec, redis, logger, registry }: { codec: AvroCodec; redis: Redis; logger: Logger; registry: Registry },
): ProcessorDeps {
  return { kafka: config.kafka, nodeId: config.service.nodeId, codec, replies: new RedisReplyPublisher(redis, logger), logger, registry };
}

/** A record as read back from Kafka, value decoded when it is Avro. */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly raw: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly fullName: string | undefined;
  readonly value: Record<string, unknown> | undefined;
}

/**
 * Everything committed on `topic`, read from the beginning to the high watermark of every
 * partition with `read_committed` (so it also waits for open transactions to end).
 */
export async function readTopic(config: Config, topic: string, codec: AvroCodec): Promise<ReadRecord[]> {
  const consumer = new Kafka.KafkaConsumer(
    {
      "metadata.broker.list": config.kafka.brokers.join(","),
      "group.id": `reader-${randomUUID()}`,
      "enable.auto.commit": false,
      "isolation.level": "read_committed",
      "enable.partition.eof": true,
      "fetch.wait.max.ms": 10,
    },
    {},
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(new Error(error.message)) : resolve())));
  try {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => {
      consumer.getMetadata({ topic, timeout: 10_000 }, (error, data) => (error ? reject(new Error(error.message)) : resolve(data)));
    });
    const partitions = metadata.topics.find((entry) => entry.name === topic)?.partitions.map((p) => p.id) ?? [];
    const reading = new Set(partitions);
    consumer.on("partition.eof", (eof) => {
      if (eof.offset >= consumer.getWatermarkOffsets(topic, eof.partition).highOffset) reading.delete(eof.partition);
    });
    consumer.setDefaultConsumeTimeout(50);
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: -2 })));
    const messages: Kafka.Message[] = [];
    const deadline = Date.now() + 30_000;
    while (reading.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: partitions ${[...reading].join(",")} never reached their end`);
      messages.push(
        ...(await new Promise<Kafka.Message[]>((resolve, reject) =>
          consumer.consume(1_000, (error, batch) => (error ? reject(new Error(error.message)) : resolve(batch))),
        )),
      );
    }
    const records: ReadRecord[] = [];
    for (const message of messages) {
      const decoded = await codec.decode(message.value).catch(() => undefined);
      const headers: Record<string, string> = {};
      for (const header of message.headers ?? []) for (const [name, value] of Object.entries(header)) headers[name] = value.toString();
      records.push({
        partition: message.partition,
        offset: message.offset,
        key: message.key === undefined || message.key === null ? null : message.key.toString(),
        raw: message.value,
        headers,
        fullName: decoded?.fullName,
        value: decoded?.value as Record<string, unknown> | undefined,
      });
    }
    return records;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** The `meta.causationId` of an event record. */
export function causationOf(record: ReadRecord): string | undefined {
  return (record.value?.meta as { causationId?: string } | undefined)?.causationId;
}

/** Listens on `reply:<nodeId>` and keeps every outcome, in arrival order. */
export class ReplyListener {
  readonly outcomes: CommandOutcome[] = [];
  private readonly redis;

  constructor(
    url: string,
    readonly nodeId: string,
    logger: Logger,
  ) {
    this.redis = createRedis(url, logger, { name: `test-replies-${nodeId}` });
    this.redis.on("message", (_channel: string, message: string) => this.outcomes.push(JSON.parse(message) as CommandOutcome));
  }

  async start(): Promise<void> {
    await this.redis.subscribe(replyChannel(this.nodeId));
  }

  /** Every outcome answered for `commandId` once at least `count` arrived. */
  of(commandId: string, count = 1, timeoutMs = 20_000): Promise<CommandOutcome[]> {
    return eventually(
      () => {
        const found = this.outcomes.filter((outcome) => outcome.commandId === commandId);
        return Promise.resolve(found.length >= count ? found : undefined);
      },
      timeoutMs,
      `${count} reply(ies) to ${commandId}`,
    );
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Builds conversation commands as a gateway would, answered on `replyTo`. */
export class ConversationCommands {
  constructor(
    private readonly topic: string,
    private readonly replyTo: string | null,
  ) {}

  meta(actorId: string, commandId: string = randomUUID()): CommandMeta {
    return { commandId, correlationId: randomUUID(), actorId, workspaceId: "w1", issuedAt: Date.now(), replyTo: this.replyTo };
  }

  create(conversationId: string, actorId: string, memberIds: string[], options: { title?: string; commandId?: string } = {}): OutgoingRecord {
    const value: CreateConversation = {
      meta: this.meta(actorId, options.commandId),
      conversationId,
      type: "group",
      title: options.title ?? "Team",
      description: null,
      memberIds,
    };
    return { topic: this.topic, key: conversationId, fullName: "quikchat.conversations.CreateConversation", value };
  }

  add(conversationId: string, actorId: string, userId: string, commandId?: string): OutgoingRecord {
    const value: AddMember = { meta: this.meta(actorId, commandId), conversationId, userId, role: "member" };
    return { topic: this.topic, key: conversationId, fullName: "quikchat.conversations.AddMember", value };
  }
}

/** Builds messages commands as a gateway would, answered on `replyTo`. */
export class MessageCommands {
  private readonly metas: ConversationCommands;

  constructor(
    private readonly topic: string,
    replyTo: string | null,
  ) {
    this.metas = new ConversationCommands(topic, replyTo);
  }

  send(conversationId: string, actorId: string, content: string, options: { messageId?: string; commandId?: string } = {}): OutgoingRecord {
    const value: SendMessage = {
      meta: this.metas.meta(actorId, options.commandId),
      conversationId,
      messageId: options.messageId ?? randomUUID(),
      clientMsgId: null,
      type: "text",
      content,
      attachments: [],
      replyToMessageId: null,
      mentionedUserIds: [],
      metadata: {},
      fromServer: false,
    };
    return { topic: this.topic, key: conversationId, fullName: "quikchat.messages.SendMessage", value };
  }

  edit(conversationId: string, actorId: string, messageId: string, content: string): OutgoingRecord {
    const value: EditMessage = { meta: this.metas.meta(actorId), conversationId, messageId, content, mentionedUserIds: [] };
    return { topic: this.topic, key: conversationId, fullName: "quikchat.messages.EditMessage", value };
  }
}

/** The command id of a record built by {@link ConversationCommands} or {@link MessageCommands}. */
export function commandIdOf(record: OutgoingRecord): string {
  return (record.value as { meta: CommandMeta }).meta.commandId;
}
