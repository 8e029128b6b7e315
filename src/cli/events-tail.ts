import { InvalidArgumentError, Option, type Command } from "commander";
import type { Config } from "../contexts/index.js";
import { withKafkaTools, type KafkaTools } from "./kafka-tools.js";
import { printRecord } from "./tool-output.js";
import { metaOf, parseStartPosition, planRanges, readRecords, resolveTopic, typeOf, type StartPosition, type ToolRecord } from "./topic-reader.js";

export interface TailOptions {
  /** A context (its events topic) or a topic of the contract. */
  readonly target: string;
  readonly from: StartPosition;
  /** Keep reading new records until `signal` aborts; otherwise stop at the end offsets of the start. */
  readonly follow: boolean;
  readonly key?: string;
  /** A record name, short (`MessageSent`) or full (`quikchat.messages.MessageSent`). */
  readonly type?: string;
  readonly correlation?: string;
  readonly signal?: AbortSignal;
  /** Told once the start offsets are fixed: a record produced after it is read (with `--from end`, one produced before it may not be). */
  readonly onStart?: () => void;
}

/** Whether `record` passes the tail's filters. */
export function matchesFilters(record: ToolRecord, filters: Pick<TailOptions, "key" | "type" | "correlation">): boolean {
  if (filters.key !== undefined && record.key !== filters.key) return false;
  if (filters.type !== undefined && record.fullName !== filters.type && typeOf(record) !== filters.type) return false;
  if (filters.correlation !== undefined && metaOf(record)?.correlationId !== filters.correlation) return false;
  return true;
}

/**
 * Reads a topic's records decoded through the registry, each partition in order, and hands those
 * matching the filters to `onRecord`; returns how many matched.
 */
export async function tailEvents(tools: KafkaTools, options: TailOptions, onRecord: (record: ToolRecord) => void): Promise<number> {
  const topic = resolveTopic(tools.prefix, options.target);
  const ranges = await planRanges(tools.admin, [topic], options.from, options.follow ? { kind: "never" } : { kind: "end" });
  options.onStart?.();
  let matched = 0;
  for await (const batch of readRecords(tools.codec, ranges, tools.readOptions("tail", options.signal === undefined ? {} : { signal: options.signal }))) {
    for (const record of batch) {
      if (!matchesFilters(record, options)) continue;
      matched += 1;
      onRecord(record);
    }
  }
  return matched;
}

/** `--from`'s parser: a one-line error for anything else. */
export function startPositionArgument(text: string): StartPosition {
  const position = parseStartPosition(text);
  if (position === undefined) throw new InvalidArgumentError("expected beginning, end, an ISO time (2026-12-03T10:00:00Z) or <partition>:<offset>");
  return position;
}

export function registerEventsTail(program: Command, config: () => Config): void {
  program
    .command("events")
    .description("read the contract's topics")
    .command("tail")
    .description("print a topic's records decoded through the registry: topic, partition, offset, time, key, record name, value")
    .argument("<target>", "a context (its events topic) or a topic, e.g. messages or quikapp.messages.dlq")
    .addOption(new Option("--from <position>", "beginning, end, an ISO time, or <partition>:<offset>").argParser(startPositionArgument).default({ kind: "beginning" }, "beginning"))
    .option("--follow", "keep printing new records (Ctrl-C stops); without it, stop at the end offsets of the start", false)
    .option("--key <key>", "only records with this key (a conversation, user, call or huddle id)")
    .option("--type <record>", "only records of this type (MessageSent or quikchat.messages.MessageSent)")
    .option("--correlation <id>", "only records whose meta.correlationId is this")
    .option("--json", "one JSON object per line", false)
    .action(async (target: string, options: { from: StartPosition; follow: boolean; key?: string; type?: string; correlation?: string; json: boolean }) => {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      await withKafkaTools(config(), (tools) =>
        tailEvents(tools, { ...options, target, signal: abort.signal }, (record) => printRecord(record, options.json)),
      );
    });
}
