import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import avro from "avsc";
import { InvalidArgumentError, Option, type Command } from "commander";
import type { Config } from "../contexts/index.js";
import { loadSchemaCatalog, fullNameOf, isJsonObject, type JsonValue } from "../platform/contract/schema-catalog.js";
import { startPositionArgument } from "./events-tail.js";
import { withKafkaTools, type KafkaTools } from "./kafka-tools.js";
import { ToolError } from "./tool-error.js";
import { jsonLine, progressBar, recordJson } from "./tool-output.js";
import { contextOfTopic, parseTime, planRanges, readRecords, resolveTopic, type StartPosition } from "./topic-reader.js";

export type ExportFormat = "jsonl" | "avro";

export interface ExportOptions {
  /** A context (its events topic) or a topic of the contract. */
  readonly target: string;
  readonly from: StartPosition;
  /** Epoch milliseconds: records before it; the end offsets of the start without. */
  readonly to?: number;
  readonly format: ExportFormat;
  /** Written here; stdout without. */
  readonly out?: string;
  readonly onProgress?: (read: number, total: number) => void;
}

export interface ExportResult {
  readonly topic: string;
  readonly written: number;
  /** Records left out: undecodable, or of a record type this build's contract does not know (avro). */
  readonly skipped: number;
}

/** The full name of the export envelope: a record's Kafka coordinates around its value. */
export const EXPORT_RECORD = "quikchat.export.TopicRecord";

/**
 * The writer schema of an Avro export of `topic`: a `TopicRecord` with the record's topic,
 * partition, offset, time and key, and its value as a union of every record type of the topic (the
 * contract's schemas, each shared type defined once).
 */
export function exportSchema(prefix: string, topic: string): { schema: object; types: ReadonlySet<string> } {
  const place = contextOfTopic(prefix, topic);
  if (place === undefined || place.kind === "state") throw new ToolError(`${topic} holds no Avro records of the contract (a changelog is the processors' internal JSON)`);
  const kind = place.kind === "events" ? "event" : "command";
  const records = loadSchemaCatalog().filter((record) => record.context === place.context && record.kind === kind);
  const defined = new Set<string>();
  const union = records.map((record) => defineOnce(record.schema, "", defined));
  const schema = {
    type: "record",
    name: EXPORT_RECORD,
    doc: `Records of ${topic} exported by quikchat export: where each was in Kafka, and its value.`,
    fields: [
      { name: "topic", type: "string" },
      { name: "partition", type: "int" },
      { name: "offset", type: "long" },
      { name: "timestamp", type: ["null", { type: "long", logicalType: "timestamp-millis" }], default: null },
      { name: "key", type: ["null", "string"], default: null },
      { name: "value", type: union },
    ],
  };
  return { schema, types: new Set(records.map((record) => record.fullName)) };
}

/** `node` with every named type defined once across calls (later uses become references by full name). */
function defineOnce(node: JsonValue, enclosing: string, defined: Set<string>): JsonValue {
  if (Array.isArray(node)) return (node as readonly JsonValue[]).map((branch) => defineOnce(branch, enclosing, defined));
  if (!isJsonObject(node)) return node;
  const type = node.type;
  const named = (type === "record" || type === "enum" || type === "fixed" || type === "error") && typeof node.name === "string";
  let namespace = enclosing;
  if (named) {
    const full = fullNameOf(node.name as string, typeof node.namespace === "string" ? node.namespace : undefined, enclosing);
    if (defined.has(full)) return full;
    defined.add(full);
    namespace = full.slice(0, Math.max(0, full.lastIndexOf(".")));
  }
  const copy: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "fields" && Array.isArray(value)) copy[key] = (value as readonly JsonValue[]).map((field) => (isJsonObject(field) ? { ...field, type: defineOnce(field.type ?? null, namespace, defined) } : field));
    else if (key === "type" || key === "items" || key === "values") copy[key] = typeof value === "string" ? value : defineOnce(value, namespace, defined);
    else copy[key] = value;
  }
  return copy;
}

/**
 * Writes a topic's records between `from` and `to` (the end offsets of the start without) for a
 * one-off load: JSON lines (`recordJson`: coordinates, key, headers, record name, value), or an
 * Avro object container file whose writer schema is {@link exportSchema}'s.
 */
export async function exportTopic(tools: KafkaTools, options: ExportOptions): Promise<ExportResult> {
  const topic = resolveTopic(tools.prefix, options.target);
  const avroSchema = options.format === "avro" ? exportSchema(tools.prefix, topic) : undefined;
  const ranges = await planRanges(tools.admin, [topic], options.from, options.to === undefined ? { kind: "end" } : { kind: "time", at: options.to });
  const total = ranges.reduce((sum, range) => sum + Math.max(0, (range.end ?? range.start) - range.start), 0);
  const file: Writable = options.out === undefined ? process.stdout : createWriteStream(options.out);
  const writerType = avroSchema === undefined ? undefined : avro.Type.forSchema(avroSchema.schema as avro.Schema);
  // avsc wraps a union of several records ({"quikchat.messages.MessageSent": value}), not one of a single record.
  const wrapped = writerType instanceof avro.types.RecordType && writerType.field("value").type.typeName === "union:wrapped";
  const encoder = writerType === undefined ? undefined : new avro.streams.BlockEncoder(writerType);
  encoder?.pipe(file);
  const sink: Writable = encoder ?? file;
  const write = async (chunk: unknown) => {
    if (!sink.write(chunk)) await once(sink, "drain");
  };
  let written = 0;
  let skipped = 0;
  const readOptions = tools.readOptions("export", options.onProgress === undefined ? {} : { onProgress: (read: number) => options.onProgress?.(read, total) });
  for await (const batch of readRecords(tools.codec, ranges, readOptions)) {
    for (const record of batch) {
      if (avroSchema === undefined) {
        await write(`${jsonLine(recordJson(record))}\n`);
      } else if (record.fullName === undefined || !avroSchema.types.has(record.fullName)) {
        skipped += 1;
        continue;
      } else {
        await write({ topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp ?? null, key: record.key, value: wrapped ? { [record.fullName]: record.value } : record.value });
      }
      written += 1;
    }
  }
  if (file !== process.stdout) {
    const closed = once(file, "close");
    sink.end();
    await closed;
  } else if (encoder !== undefined) {
    const flushed = once(encoder, "end");
    encoder.end();
    await flushed;
  }
  return { topic, written, skipped };
}

export function registerExport(program: Command, config: () => Config): void {
  program
    .command("export")
    .description("write a topic's records for a one-off load: JSON lines, or an Avro object container file with the writer schema")
    .argument("<topic>", "a context (its events topic) or a topic of the contract")
    .addOption(new Option("--from <position>", "beginning, end, an ISO time, or <partition>:<offset>").argParser(startPositionArgument).default({ kind: "beginning" }, "beginning"))
    .option("--to <time>", "only records before this ISO time (default: up to the end offsets of the start)", (text: string) => {
      const at = parseTime(text);
      if (at === undefined) throw new InvalidArgumentError("expected an ISO time (2026-12-03T10:00:00Z)");
      return at;
    })
    .addOption(new Option("--format <format>", "jsonl or avro").choices(["jsonl", "avro"]).makeOptionMandatory())
    .option("--out <file>", "write here instead of stdout")
    .action(async (target: string, options: { from: StartPosition; to?: number; format: ExportFormat; out?: string }) => {
      let bar: ReturnType<typeof progressBar> | undefined;
      const result = await withKafkaTools(config(), (tools) =>
        exportTopic(tools, {
          target,
          ...options,
          onProgress: (read, total) => {
            bar ??= progressBar("export", total);
            bar.update(read);
          },
        }),
      ).finally(() => bar?.stop());
      const skipped = result.skipped > 0 ? `, ${result.skipped} skipped (undecodable, or of a record type this build does not know)` : "";
      console.error(`exported ${result.written} records of ${result.topic}${skipped}`);
    });
}
