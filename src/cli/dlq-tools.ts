import { CompressionTypes } from "kafkajs";
import type { Command } from "commander";
import type { Config } from "../contexts/index.js";
import { REPLAY_OF_HEADER } from "../platform/processor/dead-letter.js";
import { createIdempotentProducer } from "../infra/kafka/kafkajs-client.js";
import { withKafkaTools, type KafkaTools } from "./kafka-tools.js";
import { ToolError } from "./tool-error.js";
import { isoTime, jsonLine, recordJson } from "./tool-output.js";
import { contextOfTopic, metaOf, planRanges, readAll, resolveTopic, typeOf, type ToolRecord } from "./topic-reader.js";

/** A dead letter: its id (`<partition>:<offset>` in its DLQ topic) and the record with the failed command. */
export interface DeadLetter {
  readonly id: string;
  readonly record: ToolRecord;
}

/** Where a dead letter is, as the replay header names it: `<dlq topic>:<partition>:<offset>`. */
const replayRef = (record: ToolRecord): string => `${record.topic}:${record.partition}:${record.offset}`;

/** Every dead letter of `context`'s DLQ topic, oldest first per partition (read to the end offsets of now). */
export async function listDeadLetters(tools: KafkaTools, context: string): Promise<DeadLetter[]> {
  const topic = resolveTopic(tools.prefix, context, "dlq");
  const records = await readAll(tools.codec, await planRanges(tools.admin, [topic], { kind: "beginning" }, { kind: "end" }), tools.readOptions("dlq"));
  return records.map((record) => ({ id: `${record.partition}:${record.offset}`, record }));
}

export interface ReplayResult {
  /** Each replayed dead letter and where its command went. */
  readonly replayed: readonly { readonly id: string; readonly topic: string }[];
  /** Dead letters left alone by `--all`, and why. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/**
 * Re-produces failed commands to the topic they were read from (header `source_topic`), with their
 * original key and bytes and a {@link REPLAY_OF_HEADER} header naming the dead letter.
 *
 * `ids` replays exactly those. `all` replays every dead letter except the failures of replays (they
 * carry the header: replaying them again would loop) and those already replayed (a command with
 * their reference is on the source topic), so running it twice replays nothing twice. A replayed
 * command that fails again becomes a new dead letter, once.
 */
export async function replayDeadLetters(tools: KafkaTools, context: string, selection: { readonly ids?: readonly string[]; readonly all?: boolean }): Promise<ReplayResult> {
  const letters = await listDeadLetters(tools, context);
  const skipped: { id: string; reason: string }[] = [];
  let chosen: DeadLetter[];
  if (selection.ids !== undefined && selection.ids.length > 0) {
    chosen = selection.ids.map((id) => {
      const letter = letters.find((candidate) => candidate.id === id);
      if (letter === undefined) throw new ToolError(`no dead letter ${id} in ${resolveTopic(tools.prefix, context, "dlq")} (see quikchat dlq list ${context})`);
      return letter;
    });
  } else if (selection.all === true) {
    const replayedAlready = await replayedReferences(tools, letters);
    chosen = letters.filter((letter) => {
      const reason =
        letter.record.headers[REPLAY_OF_HEADER] !== undefined
          ? `a replay of ${letter.record.headers[REPLAY_OF_HEADER]} that failed again (replay it with --id ${letter.id})`
          : replayedAlready.has(replayRef(letter.record))
            ? "already replayed"
            : undefined;
      if (reason !== undefined) skipped.push({ id: letter.id, reason });
      return reason === undefined;
    });
  } else {
    throw new ToolError("say which dead letters to replay: --id <partition>:<offset> (repeatable) or --all");
  }
  const targets = chosen.map((letter) => {
    const topic = letter.record.headers.source_topic;
    if (topic === undefined || contextOfTopic(tools.prefix, topic)?.kind !== "commands") {
      throw new ToolError(`dead letter ${letter.id} names no commands topic of this deployment to replay to (source_topic ${topic ?? "missing"})`);
    }
    return { letter, topic };
  });
  if (targets.length === 0) return { replayed: [], skipped };
  const producer = createIdempotentProducer(tools.config.kafka, tools.logger);
  await producer.connect();
  try {
    for (const { letter, topic } of targets) {
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: [{ key: letter.record.rawKey, value: letter.record.raw, headers: { [REPLAY_OF_HEADER]: replayRef(letter.record) } }],
      });
    }
  } finally {
    await producer.disconnect();
  }
  return { replayed: targets.map(({ letter, topic }) => ({ id: letter.id, topic })), skipped };
}

/** The dead letters that commands on their source topics say they replay. */
async function replayedReferences(tools: KafkaTools, letters: readonly DeadLetter[]): Promise<Set<string>> {
  const sources = [...new Set(letters.flatMap((letter) => letter.record.headers.source_topic ?? []))].filter((topic) => contextOfTopic(tools.prefix, topic)?.kind === "commands");
  if (sources.length === 0) return new Set();
  const records = await readAll(tools.codec, await planRanges(tools.admin, sources, { kind: "beginning" }, { kind: "end" }), tools.readOptions("dlq-replayed"));
  return new Set(records.flatMap((record) => record.headers[REPLAY_OF_HEADER] ?? []));
}

/** A dead letter on one line: id, time, key, record, command id, reason, and what it replays. */
export function deadLetterLine(letter: DeadLetter): string {
  const { record } = letter;
  const replay = record.headers[REPLAY_OF_HEADER] === undefined ? "" : ` (replay of ${record.headers[REPLAY_OF_HEADER]})`;
  return `${letter.id} ${isoTime(record.timestamp)} key=${record.key ?? "null"} ${typeOf(record) ?? "undecodable"} command=${metaOf(record)?.commandId ?? "-"} ${record.headers.error_code ?? "?"}: ${record.headers.error ?? ""}${replay}`;
}

export function registerDlqTools(program: Command, config: () => Config): void {
  const dlq = program.command("dlq").description("dead-lettered commands: what failed and why, and replay after a fix");
  const collect = (value: string, previous: string[]) => [...previous, value];
  dlq
    .command("list")
    .description("every dead letter of a context: id (<partition>:<offset>), time, key, command, reason")
    .argument("<context>", "the context whose DLQ topic to read, e.g. conversations or messages")
    .option("--json", "one JSON object per line", false)
    .action(async (context: string, options: { json: boolean }) => {
      const letters = await withKafkaTools(config(), (tools) => listDeadLetters(tools, context));
      for (const letter of letters) console.log(options.json ? jsonLine({ id: letter.id, ...recordJson(letter.record) }) : deadLetterLine(letter));
      if (!options.json && letters.length === 0) console.log(`no dead letter in ${context}`);
    });
  dlq
    .command("show")
    .description("one dead letter whole: headers (error, error_code, source topic, partition, offset) and the decoded command")
    .argument("<context>", "the context whose DLQ topic to read")
    .requiredOption("--id <partition:offset>", "the dead letter (see dlq list)")
    .action(async (context: string, options: { id: string }) => {
      const letters = await withKafkaTools(config(), (tools) => listDeadLetters(tools, context));
      const letter = letters.find((candidate) => candidate.id === options.id);
      if (letter === undefined) throw new ToolError(`no dead letter ${options.id} in the ${context} DLQ (see quikchat dlq list ${context})`);
      console.log(JSON.stringify(JSON.parse(jsonLine({ id: letter.id, ...recordJson(letter.record) })), null, 2));
    });
  dlq
    .command("replay")
    .description("re-produce failed commands to their source topic (same key and bytes, header replay_of); a replay that fails again is dead-lettered once more, never replayed in a loop")
    .argument("<context>", "the context whose DLQ topic to read")
    .option("--id <partition:offset>", "a dead letter to replay (repeatable)", collect, [])
    .option("--all", "every dead letter not replayed yet, except the failures of replays", false)
    .option("--json", "one JSON object per line", false)
    .action(async (context: string, options: { id: string[]; all: boolean; json: boolean }) => {
      const result = await withKafkaTools(config(), (tools) => replayDeadLetters(tools, context, { ids: options.id, all: options.all }));
      for (const { id, topic } of result.replayed) console.log(options.json ? jsonLine({ replayed: id, to: topic }) : `replayed ${id} to ${topic}`);
      for (const { id, reason } of result.skipped) console.log(options.json ? jsonLine({ skipped: id, reason }) : `skipped ${id}: ${reason}`);
    });
}
