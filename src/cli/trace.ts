import type { Command } from "commander";
import type { Config } from "../contexts/index.js";
import { withKafkaTools, type KafkaTools } from "./kafka-tools.js";
import { startPositionArgument } from "./events-tail.js";
import { isoTime, jsonLine, progressBar, recordJson, type Progress } from "./tool-output.js";
import { contextOfTopic, contractTopics, metaOf, planRanges, readRecords, typeOf, type StartPosition, type ToolRecord } from "./topic-reader.js";

/** What became of one command of a trace. */
export interface CommandOutcomeLine {
  readonly commandId: string;
  readonly type: string | undefined;
  /**
   * `accepted`: it caused events; `dead_lettered`: it went to a DLQ (with the reason); `no_event`:
   * neither, i.e. the domain rejected it or it was a repeat (the reply said which; replies go to the
   * gateway through Redis, not through Kafka), or no processor has decided it yet.
   */
  readonly outcome: "accepted" | "dead_lettered" | "no_event";
  readonly events: number;
  readonly errors: readonly string[];
}

export interface Trace {
  readonly correlationId: string;
  /** Commands, events and dead letters carrying the correlation id, in time order. */
  readonly records: readonly ToolRecord[];
  readonly outcomes: readonly CommandOutcomeLine[];
}

const KIND_ORDER = { commands: 0, events: 1, dlq: 2, state: 3 } as const;

/** Time order; at the same millisecond a command before its events before its dead letters. */
function traceOrder(prefix: string) {
  const rank = (record: ToolRecord) => KIND_ORDER[contextOfTopic(prefix, record.topic)?.kind ?? "state"];
  return (a: ToolRecord, b: ToolRecord) => (a.timestamp ?? 0) - (b.timestamp ?? 0) || rank(a) - rank(b) || a.offset - b.offset;
}

/** The outcome of every command in `records` (pure). */
export function outcomesOf(prefix: string, records: readonly ToolRecord[]): CommandOutcomeLine[] {
  const kind = (record: ToolRecord) => contextOfTopic(prefix, record.topic)?.kind;
  const commands = new Map<string, ToolRecord>();
  for (const record of records) {
    const commandId = metaOf(record)?.commandId;
    if (kind(record) === "commands" && commandId !== undefined && !commands.has(commandId)) commands.set(commandId, record);
  }
  return [...commands].map(([commandId, command]) => {
    const events = records.filter((record) => kind(record) === "events" && metaOf(record)?.causationId === commandId).length;
    const errors = records
      .filter((record) => kind(record) === "dlq" && metaOf(record)?.commandId === commandId)
      .map((record) => `${record.headers.error_code ?? "?"}: ${record.headers.error ?? "?"} (${record.topic}/${record.partition}@${record.offset})`);
    const outcome = errors.length > 0 && events === 0 ? "dead_lettered" : events > 0 ? "accepted" : "no_event";
    return { commandId, type: typeOf(command), outcome, events, errors };
  });
}

/**
 * Everything one correlation id touched across the commands, events and DLQ topics of every
 * context, read from `from` to the end offsets of now: the commands, the events they caused, their
 * dead letters and each command's outcome.
 */
export async function traceCorrelation(tools: KafkaTools, correlationId: string, from: StartPosition = { kind: "beginning" }, onProgress?: (read: number, total: number) => void): Promise<Trace> {
  const existing = new Set(await tools.admin.listTopics());
  const topics = contractTopics(tools.prefix, ["commands", "events", "dlq"]).filter((topic) => existing.has(topic));
  const ranges = await planRanges(tools.admin, topics, from, { kind: "end" });
  const total = ranges.reduce((sum, range) => sum + Math.max(0, (range.end ?? range.start) - range.start), 0);
  const records: ToolRecord[] = [];
  const options = tools.readOptions("trace", onProgress === undefined ? {} : { onProgress: (read: number) => onProgress(read, total) });
  for await (const batch of readRecords(tools.codec, ranges, options)) {
    records.push(...batch.filter((record) => metaOf(record)?.correlationId === correlationId));
  }
  records.sort(traceOrder(tools.prefix));
  return { correlationId, records, outcomes: outcomesOf(tools.prefix, records) };
}

/** The trace for people: one line per record, then one per command's outcome. */
export function formatTrace(trace: Trace, prefix: string): string {
  if (trace.records.length === 0) return `no command, event or dead letter carries correlation id ${trace.correlationId}`;
  const lines = trace.records.map((record) => {
    const kind = contextOfTopic(prefix, record.topic)?.kind ?? "?";
    const meta = metaOf(record);
    const id = kind === "events" ? `event ${meta?.eventId ?? "?"}` : `command ${meta?.commandId ?? "?"}`;
    const error = kind === "dlq" ? ` ${record.headers.error_code ?? "?"}: ${record.headers.error ?? ""}` : "";
    return `${isoTime(record.timestamp)} ${kind.padEnd(8)} ${record.topic}/${record.partition}@${record.offset} key=${record.key ?? "null"} ${typeOf(record) ?? "?"} ${id}${error}`;
  });
  const outcomes = trace.outcomes.map((o) => {
    const detail = o.outcome === "accepted" ? `${o.events} event(s)` : o.outcome === "dead_lettered" ? o.errors.join("; ") : "no event and no dead letter: rejected by the domain or a repeat (the reply said which)";
    return `outcome: ${o.type ?? "?"} ${o.commandId} ${o.outcome}${o.outcome === "accepted" ? "" : ":"} ${detail}${o.outcome === "accepted" && o.errors.length > 0 ? `; earlier dead letters: ${o.errors.join("; ")}` : ""}`;
  });
  return [...lines, ...outcomes].join("\n");
}

export function registerTrace(program: Command, config: () => Config): void {
  program
    .command("trace")
    .description("the commands, events, dead letters and outcome of one correlation id, across every topic of every context, in order")
    .argument("<correlationId>", "the meta.correlationId shared by everything one client action caused (for a call: its callId, which every command, event and signal of the call carries)")
    .option("--from <position>", "beginning (default), or an ISO time to read from", startPositionArgument)
    .option("--json", "one JSON object per line: each record, then each command's outcome", false)
    .action(async (correlationId: string, options: { from?: StartPosition; json: boolean }) => {
      let bar: Progress | undefined;
      const trace = await withKafkaTools(config(), (tools) =>
        traceCorrelation(tools, correlationId, options.from ?? { kind: "beginning" }, (read, total) => {
          bar ??= progressBar("trace", total);
          bar.update(read);
        }),
      ).finally(() => bar?.stop());
      if (!options.json) {
        console.log(formatTrace(trace, config().kafka.topicPrefix));
        return;
      }
      for (const record of trace.records) console.log(jsonLine(recordJson(record)));
      for (const outcome of trace.outcomes) console.log(jsonLine({ outcome }));
    });
}
