/**
 * Writes records straight to the service's topics, as another producer of the contract would,
 * forked by the benchmark: CreateConversation and AddMember commands in bulk (thousands of
 * conversations, or one conversation grown to 10,000 members, without a REST round trip each —
 * an AddMember over REST answers with the whole member list), and a history of MessageSent
 * events for the rebuild row. Topics and schemas come from
 * `bootstrapContract` under the given prefix, records are Avro in the Confluent wire format.
 */
import { randomUUID } from "node:crypto";
import Kafka from "node-rdkafka";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import { loadConfig } from "../../src/contexts/index.js";
import type { AddMember, CommandMeta, CreateConversation, MessageSent } from "../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { connect, disconnect } from "../../src/infra/kafka/rdkafka-calls.js";
import { RecordProducer } from "../../src/infra/kafka/record-producer.js";
import { createLogger } from "../../src/infra/log/logger.js";
import { serveWorker } from "./processes.js";
import { epochMs } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

const logger = createLogger({ level: "error", name: "bench-seed" });
const configFor = (prefix: string) => loadConfig({ ...process.env, KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: "warn" });

export interface AddMembersArgs {
  readonly prefix: string;
  readonly conversationId: string;
  /** A member allowed to add members (the owner). */
  readonly actor: string;
  readonly workspace: string;
  readonly userIds: readonly string[];
}

/** Command metadata for `actor` with no reply asked (nobody waits for the outcome). */
function meta(actor: string, workspace: string): CommandMeta {
  const commandId = randomUUID();
  return { commandId, correlationId: commandId, actorId: actor, workspaceId: workspace, issuedAt: Date.now(), replyTo: null };
}

/** Produces `commands` (`quikchat.conversations.<type>` records keyed by conversation), 1,000 per request. */
async function produceConversationCommands(prefix: string, type: string, commands: readonly { conversationId: string }[]): Promise<{ produced: number; seconds: number }> {
  const started = epochMs();
  const config = configFor(prefix);
  const { codec } = await bootstrapContract(config, logger);
  const producer = new RecordProducer(config.kafka, codec, logger);
  try {
    const topic = prefix + TOPICS.conversations.commands;
    const records = commands.map((value) => ({ topic, key: value.conversationId, fullName: `quikchat.conversations.${type}`, value }));
    for (let i = 0; i < records.length; i += 1_000) await producer.send(records.slice(i, i + 1_000));
    return { produced: records.length, seconds: (epochMs() - started) / 1000 };
  } finally {
    await producer.close();
  }
}

/** Produces one AddMember command per user; resolves once Kafka has them all. */
function addMembers(args: AddMembersArgs): Promise<{ produced: number; seconds: number }> {
  const commands = args.userIds.map((userId): AddMember => ({ meta: meta(args.actor, args.workspace), conversationId: args.conversationId, userId, role: "member" }));
  return produceConversationCommands(args.prefix, "AddMember", commands);
}

export interface CreateConversationsArgs {
  readonly prefix: string;
  readonly workspace: string;
  readonly conversations: readonly { readonly id: string; readonly owner: string; readonly members: readonly string[] }[];
}

/** Produces one CreateConversation command (a group) per conversation; resolves once Kafka has them all. */
function createConversations(args: CreateConversationsArgs): Promise<{ produced: number; seconds: number }> {
  const commands = args.conversations.map(
    ({ id, owner, members }): CreateConversation => ({ meta: meta(owner, args.workspace), conversationId: id, type: "group", title: "bench", description: null, memberIds: [...members] }),
  );
  return produceConversationCommands(args.prefix, "CreateConversation", commands);
}

export interface SeedHistoryArgs {
  /** A fresh prefix: topics and schemas are created under it. */
  readonly prefix: string;
  readonly count: number;
  readonly conversations: number;
}

/**
 * Appends `count` MessageSent events to `<prefix>quikapp.messages.events`, spread round-robin
 * over `conversations` conversations (keyed by conversation, seq 1, 2, 3 … in each), with a
 * node-rdkafka producer tuned for throughput.
 */
async function seedHistory(args: SeedHistoryArgs): Promise<{ produced: number; failed: number; seconds: number }> {
  const config = configFor(args.prefix);
  const { codec } = await bootstrapContract(config, logger);
  const topic = args.prefix + TOPICS.messages.events;
  const producer = new Kafka.Producer(
    {
      "metadata.broker.list": config.kafka.brokers.join(","),
      "client.id": "bench-seed",
      "enable.idempotence": true,
      "linger.ms": 20,
      "batch.num.messages": 10_000,
      "queue.buffering.max.messages": 200_000,
      "queue.buffering.max.kbytes": 1_048_576,
      dr_cb: true,
    },
    { partitioner: "murmur2_random" },
  );
  let delivered = 0;
  let failed = 0;
  producer.on("delivery-report", (error) => (error ? (failed += 1) : (delivered += 1)));
  await connect(producer, 10_000);
  producer.setPollInterval(20);
  const started = epochMs();
  const content = "Benchmark history: a message of ordinary length, about as long as most chat messages are. ";
  try {
    for (let i = 0; i < args.count; i += 1) {
      const conversation = i % args.conversations;
      const seq = Math.floor(i / args.conversations) + 1;
      const conversationId = `bench-history-${conversation}`;
      const event: MessageSent = {
        meta: { eventId: `e-${i}`, occurredAt: 1_700_000_000_000 + i, correlationId: `c-${i}`, causationId: null, actorId: `user-${seq % 10}`, workspaceId: "bench" },
        conversationId,
        seq,
        messageId: `${conversationId}-m${seq}`,
        senderId: `user-${seq % 10}`,
        clientMsgId: `seed-${i}`,
        type: "text",
        content,
        attachments: [],
        replyToMessageId: null,
        mentionedUserIds: [],
        metadata: {},
      };
      const value = codec.encode("quikchat.messages.MessageSent", event);
      for (;;) {
        try {
          producer.produce(topic, null, value, conversationId, event.meta.occurredAt);
          break;
        } catch {
          // The local queue is full: let delivery reports drain it.
          await sleep(5);
        }
      }
      if (i % 20_000 === 0) await sleep(0);
    }
    await new Promise<void>((resolve, reject) => producer.flush(120_000, (error) => (error ? reject(new Error(error.message)) : resolve())));
    for (const deadline = epochMs() + 10_000; delivered + failed < args.count && epochMs() < deadline; ) await sleep(50);
    return { produced: delivered, failed: args.count - delivered, seconds: (epochMs() - started) / 1000 };
  } finally {
    await disconnect(producer);
  }
}

const api = { addMembers, createConversations, seedHistory };

export type KafkaSeedApi = typeof api;

serveWorker(api);
