import { randomUUID } from "node:crypto";
import { Partitioners, type Admin } from "kafkajs";
import Kafka from "node-rdkafka";
import type { CONTEXT_SPECS} from "../platform/contract/topics.js";
import { ALL_TOPICS, CONTEXTS, isContextName, topicKindsOf, topicSpec, TOPICS, type TopicKind } from "../platform/contract/topics.js";
import { readChangelogRecord } from "../platform/processor/changelog-codec.js";
import type { AvroCodec } from "../infra/avro/avro-codec.js";
import { consumerSettings, END_SEEN_SOON } from "../infra/kafka/consumer-settings.js";
import { asKafkaError, connect, consume, disconnect } from "../infra/kafka/rdkafka-calls.js";
import { headersOf, toBuffer } from "../infra/kafka/record-consumer.js";
import type { Logger } from "../infra/log/logger.js";
import { ToolError } from "./tool-error.js";

/**
 * Where a tool starts reading: each partition's first or next offset, the first offset at or after
 * a time, or one partition from one offset (`<partition>:<offset>`, as kcat's `-p -o`).
 */
export type StartPosition =
  | { readonly kind: "beginning" }
  | { readonly kind: "end" }
  | { readonly kind: "time"; readonly at: number }
  | { readonly kind: "offset"; readonly partition: number; readonly offset: number };

/** Where a tool stops: the end offsets of when it started, the first offset at or after a time, or never (`--follow`). */
export type EndPosition = { readonly kind: "end" } | { readonly kind: "time"; readonly at: number } | { readonly kind: "never" };

/** A time an operator typed: an ISO 8601 date or date-time (`2026-12-03`, `2026-12-03T10:00:00Z`); undefined for anything else. */
export function parseTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/** Parses `--from`: `beginning`, `end`, an ISO time or `<partition>:<offset>`; undefined for anything else. */
export function parseStartPosition(text: string): StartPosition | undefined {
  if (text === "beginning" || text === "end") return { kind: text };
  const offset = /^(\d+):(\d+)$/.exec(text);
  if (offset !== null) return { kind: "offset", partition: Number(offset[1]), offset: Number(offset[2]) };
  const at = parseTime(text);
  return at === undefined ? undefined : { kind: "time", at };
}

/** The topics of the contract a tool may read, prefix included, in catalog order; `kinds` picks which (all by default). */
export function contractTopics(prefix: string, kinds: readonly TopicKind[] = ["commands", "events", "dlq", "state"]): string[] {
  return CONTEXTS.flatMap((context) => topicKindsOf(context).filter((kind) => kinds.includes(kind)).map((kind) => prefix + TOPICS[context][kind as "events"]));
}

/**
 * The topic an operator names: a context (its `kind` topic, events by default), a topic of the
 * contract (`quikapp.messages.dlq`, with or without the deployment's prefix). Throws a
 * {@link ToolError} listing the contexts for anything else.
 */
export function resolveTopic(prefix: string, name: string, kind: TopicKind = "events"): string {
  if (isContextName(name)) {
    if (!topicKindsOf(name).includes(kind)) throw new ToolError(`the ${name} context has no ${kind} topic (it is upstream: its events and our dead letters only)`);
    return prefix + TOPICS[name][kind as "events"];
  }
  const bare = prefix !== "" && name.startsWith(prefix) ? name.slice(prefix.length) : name;
  if (topicSpec(bare) !== undefined) return prefix + bare;
  throw new ToolError(`${name} is neither a context nor a topic of the contract; the contexts are ${CONTEXTS.join(", ")}`);
}

/** The context whose `kind` topic `topic` (prefix included) is, if any. */
export function contextOfTopic(prefix: string, topic: string): { context: keyof typeof CONTEXT_SPECS; kind: TopicKind } | undefined {
  const spec = topicSpec(topic.startsWith(prefix) ? topic.slice(prefix.length) : topic);
  return spec === undefined ? undefined : { context: spec.context, kind: spec.kind };
}

/** The partition a record keyed by `key` lands on among `count`: murmur2, as every producer of the service partitions. */
export function partitionOfKey(key: string, count: number): number {
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0] }));
  return Partitioners.DefaultPartitioner()({ topic: "", partitionMetadata, message: { key, value: null } });
}

/** One partition to read, from `start` up to `end` (exclusive; undefined: follow forever). */
export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly start: number;
  readonly end: number | undefined;
}

/**
 * The ranges to read on `topics` between `from` and `until`, from the broker's offsets now; only
 * `partitions` when given. A topic that does not exist is a {@link ToolError}.
 */
export async function planRanges(
  admin: Admin,
  topics: readonly string[],
  from: StartPosition,
  until: EndPosition,
  partitions?: ReadonlySet<number>,
): Promise<PartitionRange[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) throw new ToolError(`no such topic: ${missing.join(", ")} (quikchat bootstrap, or start, creates the contract's topics)`);
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const at = async (time: number): Promise<Map<number, number>> =>
      new Map((await admin.fetchTopicOffsetsByTimestamp(topic, time)).map(({ partition, offset }) => [partition, Number(offset)]));
    const startsAt = from.kind === "time" ? await at(from.at) : undefined;
    const endsAt = until.kind === "time" ? await at(until.at) : undefined;
    if (from.kind === "offset" && !offsets.some(({ partition }) => partition === from.partition)) {
      throw new ToolError(`${topic} has no partition ${from.partition} (it has ${offsets.length})`);
    }
    for (const entry of offsets.sort((a, b) => a.partition - b.partition)) {
      const { partition } = entry;
      if (partitions !== undefined && !partitions.has(partition)) continue;
      if (from.kind === "offset" && from.partition !== partition) continue;
      const low = Number(entry.low);
      const high = Number(entry.high);
      // A time after the last record answers -1: nothing there yet.
      const byTime = (found: number | undefined): number => (found === undefined || found < 0 ? high : found);
      const start = from.kind === "beginning" ? low : from.kind === "end" ? high : from.kind === "time" ? byTime(startsAt?.get(partition)) : Math.max(low, from.offset);
      const end = until.kind === "never" ? undefined : until.kind === "end" ? high : byTime(endsAt?.get(partition));
      ranges.push({ topic, partition, start, end });
    }
  }
  return ranges;
}

/** A record as the tools show it: where it is, its key and headers, and its value decoded through the registry when it can be. */
export interface ToolRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch milliseconds (the record's CreateTime). */
  readonly timestamp: number | undefined;
  readonly key: string | null;
  readonly rawKey: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly raw: Buffer | null;
  /** The record's full name (`quikchat.messages.MessageSent`); undefined when it could not be decoded. */
  readonly fullName: string | undefined;
  readonly value: unknown;
  /** Why the value could not be decoded. */
  readonly error: string | undefined;
}

export interface ReadOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** Stops a follow (or a long read) between two batches. */
  readonly signal?: AbortSignal;
  /** Told after each batch how many offsets of the bounded ranges were passed. */
  readonly onProgress?: (read: number) => void;
}

/**
 * Reads `ranges` with `read_committed` (what consumers of the service see: no aborted or open
 * transaction), each partition in offset order, and yields the records in batches as they come.
 * Ends when every bounded partition reached its end (the end of a read_committed partition is its
 * last stable offset, past transaction markers); a range without an end keeps it reading until
 * `signal` aborts. Manual assignment: it joins no consumer group and commits nothing.
 */
export async function* readRecords(codec: AvroCodec, ranges: readonly PartitionRange[], options: ReadOptions): AsyncGenerator<ToolRecord[]> {
  const id = (topic: string, partition: number) => `${topic}\u0000${partition}`;
  const pending = ranges.filter((range) => range.end === undefined || range.start < range.end);
  if (pending.length === 0) return;
  const ends = new Map(pending.map((range) => [id(range.topic, range.partition), range.end]));
  const position = new Map(pending.map((range) => [id(range.topic, range.partition), range.start]));
  const open = new Set(pending.filter((range) => range.end !== undefined).map((range) => id(range.topic, range.partition)));
  const follows = pending.some((range) => range.end === undefined);
  const advance = (topic: string, partition: number, next: number) => {
    const key = id(topic, partition);
    position.set(key, Math.max(position.get(key) ?? 0, next));
    const end = ends.get(key);
    if (end !== undefined && next >= end) open.delete(key);
  };
  const read = () => pending.reduce((sum, range) => sum + (range.end === undefined ? 0 : Math.min(range.end, position.get(id(range.topic, range.partition)) ?? 0) - range.start), 0);

  const consumer = new Kafka.KafkaConsumer(
    consumerSettings({ brokers: options.brokers, clientId: options.clientId, groupId: `quikchat.tools.${randomUUID()}` }, END_SEEN_SOON),
    { "auto.offset.reset": "earliest" },
  );
  consumer.on("event.error", (error) => options.logger.warn({ err: asKafkaError(error) }, "tool consumer error"));
  consumer.on("partition.eof", (eof) => advance(eof.topic, eof.partition, eof.offset));
  await connect(consumer, 10_000);
  try {
    consumer.assign(pending.map(({ topic, partition, start }) => ({ topic, partition, offset: start })));
    while ((open.size > 0 || follows) && options.signal?.aborted !== true) {
      const batch: ToolRecord[] = [];
      for (const message of await consume(consumer, 500, 100)) {
        const end = ends.get(id(message.topic, message.partition));
        advance(message.topic, message.partition, message.offset + 1);
        if (end !== undefined && message.offset >= end) continue;
        batch.push(await toolRecord(codec, message));
      }
      options.onProgress?.(read());
      if (batch.length > 0) yield batch;
    }
  } finally {
    consumer.unassign();
    await disconnect(consumer);
  }
}

/** Every record of `ranges`, gathered (a bounded read). */
export async function readAll(codec: AvroCodec, ranges: readonly PartitionRange[], options: ReadOptions): Promise<ToolRecord[]> {
  const records: ToolRecord[] = [];
  for await (const batch of readRecords(codec, ranges, options)) records.push(...batch);
  return records;
}

/** Whether `topic` (prefix included) is a processor's changelog: JSON snapshots, not Avro (see `ChangelogCodec`). */
const isChangelogTopic = (topic: string): boolean => ALL_TOPICS.some((spec) => spec.compacted && topic.endsWith(spec.name));

async function toolRecord(codec: AvroCodec, message: Kafka.Message): Promise<ToolRecord> {
  const rawKey = toBuffer(message.key);
  const key = rawKey === null ? null : rawKey.toString();
  const place = { topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp, key, headers: headersOf(message), raw: message.value, rawKey };
  try {
    const decoded = isChangelogTopic(message.topic) ? readChangelogRecord(key, message.value) : await codec.decode(message.value);
    return { ...place, fullName: decoded.fullName, value: decoded.value, error: undefined };
  } catch (error) {
    return { ...place, fullName: undefined, value: undefined, error: (error as Error).message };
  }
}

/** The `meta` of a decoded command or event (every record of the contract starts with it). */
export function metaOf(record: ToolRecord): { readonly correlationId?: string; readonly commandId?: string; readonly eventId?: string; readonly causationId?: string | null } | undefined {
  const value = record.value as { meta?: unknown } | undefined;
  return typeof value?.meta === "object" && value.meta !== null ? (value.meta) : undefined;
}

/** The record's name without its namespace (`MessageSent`). */
export const typeOf = (record: ToolRecord): string | undefined => record.fullName?.slice(record.fullName.lastIndexOf(".") + 1);
