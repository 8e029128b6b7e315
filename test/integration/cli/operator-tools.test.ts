import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import avro from "avsc";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../../src/cli/bootstrap.js";
import { showAggregate } from "../../../src/cli/aggregate-show.js";
import { listDeadLetters, replayDeadLetters } from "../../../src/cli/dlq-tools.js";
import { groupsLag } from "../../../src/cli/groups-lag.js";
import { openKafkaTools, type KafkaTools } from "../../../src/cli/kafka-tools.js";
import { exportTopic, EXPORT_RECORD } from "../../../src/cli/topic-export.js";
import { traceCorrelation } from "../../../src/cli/trace.js";
import { conversationProcessor } from "../../../src/contexts/conversations/processor.js";
import type { CommandMeta } from "../../../src/platform/contract/generated/avro-types.js";
import { TOPICS } from "../../../src/platform/contract/topics.js";
import { REPLAY_OF_HEADER } from "../../../src/platform/processor/dead-letter.js";
import { startProcessor, type ProcessorHandle } from "../../../src/platform/processor/processor-runtime.js";
import { RecordProducer, type OutgoingRecord } from "../../../src/infra/kafka/record-producer.js";
import { createRedis } from "../../../src/infra/redis/redis-connection.js";
import { ConversationCommands, MessageCommands, processorDeps } from "../../support/processor-harness.js";
import { runCli } from "../../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";

const prefix = uniquePrefix("ops");
const env = { KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: "3" };
const config = testConfig(env);
const logger = testLogger();
const topics = {
  conversationCommands: prefix + TOPICS.conversations.commands,
  messageCommands: prefix + TOPICS.messages.commands,
  messageEvents: prefix + TOPICS.messages.events,
  messageDlq: prefix + TOPICS.messages.dlq,
};
const conversation = `c-${randomBytes(3).toString("hex")}`;
const conversationCommands = new ConversationCommands(topics.conversationCommands, null);
const messageCommands = new MessageCommands(topics.messageCommands, null);
const redis = createRedis(config.redis.url, logger, { name: "operator-tools-test" });
const out = mkdtempSync(join(tmpdir(), "quikchat-export-"));
let producer: RecordProducer;
let processor: ProcessorHandle;
let tools: KafkaTools;
const sends: OutgoingRecord[] = [];
let poisoned: OutgoingRecord;

const metaOf = (record: OutgoingRecord): CommandMeta => (record.value as { meta: CommandMeta }).meta;
/** `quikchat …` for this deployment: exit code and everything it printed. */
async function cli(...args: string[]): Promise<{ code: number | string; output: string }> {
  const run = runCli(args, { ...env, LOG_LEVEL: "warn" });
  return { code: await run.exited, output: run.output() };
}

/** JSON lines printed by a tool. */
const lines = (output: string) => output.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown> & { offset: number });
/** The MessageSent records of the conversation, in order. */
const readEvents = async () => (await showAggregate(tools, "messages", conversation)).events.filter((record) => record.fullName === "quikchat.messages.MessageSent");

describe("the operator tools against a processor deciding real commands", () => {
  beforeAll(async () => {
    const { codec } = await bootstrapContract(config, logger);
    producer = new RecordProducer(config.kafka, codec, logger);
    processor = await startProcessor(conversationProcessor, processorDeps(config, { codec, redis, logger, registry: new Registry() }));
    tools = await openKafkaTools(config, logger);
    await producer.send([conversationCommands.create(conversation, "alice", ["alice", "bob"])]);
    // Two command topics: a send read before the creation would be refused, as a gateway waits for the creation's reply.
    await eventually(async () => ((await showAggregate(tools, "conversations", conversation)).events.length === 1 ? true : undefined), 60_000, "the creation");
    for (const content of ["one", "two", "three"]) {
      const send = messageCommands.send(conversation, "alice", content);
      sends.push(send);
      await producer.send([send]);
    }
    // Poisoned: keyed by another conversation than the one it names, so no partition owns it (misrouted).
    const wrong = messageCommands.send(conversation, "alice", "poison");
    poisoned = { ...wrong, key: `${conversation}-elsewhere` };
    await producer.send([poisoned]);
    await eventually(async () => ((await listDeadLetters(tools, "messages")).length === 1 ? true : undefined), 60_000, "the poisoned command in the DLQ");
    await eventually(async () => ((await showAggregate(tools, "messages", conversation)).events.length === 4 ? true : undefined), 30_000, "the four events");
  });

  afterAll(async () => {
    await tools?.close();
    await processor?.close();
    await producer?.close();
    redis.disconnect();
    rmSync(out, { recursive: true, force: true });
  });

  it("tails a context's events decoded, as JSON lines, filtered by type, and stops at the end", async () => {
    const { code, output } = await cli("events", "tail", "messages", "--json", "--type", "MessageSent");
    expect(code).toBe(0);
    const lines = output.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => (line.value as { content: string }).content)).toEqual(["one", "two", "three"]);
    expect(lines[0]).toMatchObject({ topic: topics.messageEvents, key: conversation, record: "quikchat.messages.MessageSent", partition: expect.any(Number), offset: expect.any(Number) });
    expect(lines[0]!.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("says what is wrong with a bad argument in one line and exits 1", async () => {
    for (const args of [["events", "tail", "nowhere"], ["events", "tail", "messages", "--from", "yesterday"], ["dlq", "replay", "messages"]]) {
      const { code, output } = await cli(...args);
      expect(code, args.join(" ")).toBe(1);
      expect(output.trim().split("\n"), output).toHaveLength(1);
      expect(output).not.toMatch(/^\s+at /m);
    }
  });

  it("traces a command to its event, and the poisoned command to its dead letter and why", async () => {
    const accepted = await traceCorrelation(tools, metaOf(sends[1]!).correlationId);
    expect(accepted.records.map((record) => record.topic)).toEqual([topics.messageCommands, topics.messageEvents]);
    expect(accepted.outcomes).toEqual([expect.objectContaining({ commandId: metaOf(sends[1]!).commandId, type: "SendMessage", outcome: "accepted", events: 1 })]);

    const { code, output } = await cli("trace", metaOf(poisoned).correlationId);
    expect(code).toBe(0);
    expect(output).toMatch(/commands\s+\S+messages\.commands\/\d@\d+ .* SendMessage/);
    expect(output).toMatch(/dlq\s+\S+messages\.dlq\/\d@\d+ .* misrouted/);
    expect(output).toMatch(new RegExp(`outcome: SendMessage ${metaOf(poisoned).commandId} dead_lettered: misrouted`));
  });

  it("replays a dead letter, which fails again into the DLQ once, never in a loop", async () => {
    const [first] = await listDeadLetters(tools, "messages");
    expect(first?.record.headers).toMatchObject({ error_code: "misrouted", source_topic: topics.messageCommands });
    const shown = await cli("dlq", "show", "messages", "--id", first!.id);
    expect(shown.code, shown.output).toBe(0);
    expect(JSON.parse(shown.output) as unknown).toMatchObject({
      id: first!.id,
      headers: { error_code: "misrouted", error: expect.stringContaining("is not the aggregate id") as unknown },
      record: "quikchat.messages.SendMessage",
      value: { content: "poison" },
    });

    const { code, output } = await cli("dlq", "replay", "messages", "--all");
    expect(code, output).toBe(0);
    expect(output).toContain(`replayed ${first!.id} to ${topics.messageCommands}`);
    const letters = await eventually(async () => {
      const found = await listDeadLetters(tools, "messages");
      return found.length === 2 ? found : undefined;
    }, 30_000, "the replay's failure in the DLQ");
    expect(letters[1]!.record.headers[REPLAY_OF_HEADER]).toBe(`${topics.messageDlq}:${first!.record.partition}:${first!.record.offset}`);
    expect(letters[1]!.record.value).toEqual(first!.record.value);

    // Again: the original was replayed already, and the failure of a replay is not replayed by --all.
    const again = await replayDeadLetters(tools, "messages", { all: true });
    expect(again.replayed).toEqual([]);
    expect(again.skipped.map((skip) => skip.id)).toEqual([first!.id, letters[1]!.id]);
    // Only on demand: --id replays it, and it fails once more.
    expect((await replayDeadLetters(tools, "messages", { ids: [letters[1]!.id] })).replayed).toEqual([{ id: letters[1]!.id, topic: topics.messageCommands }]);
    await eventually(async () => ((await listDeadLetters(tools, "messages")).length === 3 ? true : undefined), 30_000, "the second replay's failure");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await listDeadLetters(tools, "messages")).toHaveLength(3);
    const trace = await traceCorrelation(tools, metaOf(poisoned).correlationId);
    expect(trace.outcomes).toEqual([expect.objectContaining({ outcome: "dead_lettered", errors: [expect.stringContaining("misrouted"), expect.stringContaining("misrouted"), expect.stringContaining("misrouted")] })]);
  });

  it("shows the conversation as of an earlier offset: time travel with the decider's own evolve", async () => {
    const now = await showAggregate(tools, "messages", conversation);
    expect(now.events.map((record) => record.fullName)).toEqual([
      "quikchat.conversations.ConversationCreated",
      "quikchat.messages.MessageSent",
      "quikchat.messages.MessageSent",
      "quikchat.messages.MessageSent",
    ]);
    expect(now.state).toMatchObject({ status: "active", lastSeq: 3 });
    const second = now.events[2]!;
    const then = await showAggregate(tools, "messages", conversation, { kind: "offset", offset: second.offset });
    expect(then.events).toHaveLength(3);
    expect(then.state).toMatchObject({ status: "active", lastSeq: 2 });
    const before = await showAggregate(tools, "conversations", conversation, { kind: "time", at: (now.events[0]!.timestamp ?? 0) - 1 });
    expect(before.state).toMatchObject({ status: "absent" });

    const { code, output } = await cli("aggregate", "show", "messages", conversation, "--at", String(second.offset), "--json");
    expect(code, output).toBe(0);
    expect(JSON.parse(output) as unknown).toMatchObject({ state: { lastSeq: 2 }, events: [{}, {}, {}] });
  });

  it("exports a topic to an Avro object container file that avsc reads back, and to JSON lines", async () => {
    const file = join(out, "messages.avro");
    expect(await exportTopic(tools, { target: "messages", from: { kind: "beginning" }, format: "avro", out: file })).toEqual({ topic: topics.messageEvents, written: 3, skipped: 0 });
    const read: { topic: string; key: string; value: Record<string, { content: string }> }[] = [];
    let schemaName: string | undefined;
    await new Promise<void>((resolve, reject) => {
      avro
        .createFileDecoder(file)
        .on("metadata", (type: avro.Type) => (schemaName = type.name))
        .on("data", (record: (typeof read)[number]) => read.push(record))
        .on("end", resolve)
        .on("error", reject);
    });
    expect(schemaName).toBe(EXPORT_RECORD);
    expect(read.map((record) => record.value["quikchat.messages.MessageSent"]?.content)).toEqual(["one", "two", "three"]);
    expect(read[0]).toMatchObject({ topic: topics.messageEvents, key: conversation });

    const lines = join(out, "commands.jsonl");
    expect(await exportTopic(tools, { target: TOPICS.messages.commands, from: { kind: "beginning" }, format: "jsonl", out: lines })).toMatchObject({ written: 6 });
    // Three sends, the poisoned one and its two replays, each with its headers.
    const commands = readFileSync(lines, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { record: string; headers?: Record<string, string> });
    expect(commands.filter((command) => command.headers?.[REPLAY_OF_HEADER] !== undefined)).toHaveLength(2);
    expect(new Set(commands.map((command) => command.record))).toEqual(new Set(["quikchat.messages.SendMessage"]));
  });

  it("reports the processor's consumer group with no lag once it has decided everything", async () => {
    const rows = await eventually(async () => {
      const found = (await groupsLag(tools)).filter((row) => row.group === `${prefix}quikchat.conversations.processor` && row.topic === topics.messageCommands);
      // Offsets are committed for the partitions the conversation's commands (and the poisoned ones) went to.
      return found.length > 0 && found.every((row) => row.lag === 0) ? found : undefined;
    }, 30_000, "the processor group's offsets");
    expect(rows.reduce((sum, row) => sum + (row.committed ?? 0), 0)).toBeGreaterThanOrEqual(6);
    expect(rows.every((row) => row.committed === row.highWatermark)).toBe(true);
    const { code, output } = await cli("groups", "lag");
    expect(code, output).toBe(0);
    expect(output).toMatch(new RegExp(`^${prefix.replaceAll(".", "\\.")}quikchat\\.conversations\\.processor\\s+\\w+\\s+\\d+\\s+${topics.messageCommands.replaceAll(".", "\\.")}`, "m"));
  });

  it("tails a processor's changelog decoded: its JSON snapshots, not undecodable Avro", async () => {
    const { code, output } = await cli("events", "tail", TOPICS.conversations.state, "--json", "--key", conversation);
    expect(code, output).toBe(0);
    const snapshots = lines(output) as unknown as { record: string; error?: string; value: { aggregateId: string; version: number; state: { status: string } } }[];
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots.filter((line) => line.error !== undefined)).toEqual([]);
    expect(snapshots.at(-1)).toMatchObject({ record: "quikchat.changelog.Snapshot", value: { aggregateId: conversation, state: { status: "active" } } });
    expect(snapshots.at(-1)!.value.version).toBeGreaterThanOrEqual(4);
  });

  it("tails from a partition's offset or a time, and follows new records until interrupted", async () => {
    const all = await readEvents();
    const second = all[1]!;
    const fromOffset = await cli("events", "tail", "messages", "--from", `${second.partition}:${second.offset}`, "--json");
    expect(fromOffset.code).toBe(0);
    expect(lines(fromOffset.output).map((line) => line.offset)).toEqual(all.slice(1).map((record) => record.offset));
    // From the first record at or after a time: the third's, and any the processor wrote in the same millisecond.
    const at = all[2]!.timestamp!;
    const fromTime = await cli("events", "tail", "messages", "--from", new Date(at).toISOString(), "--json");
    const since = all.filter((record) => record.timestamp! >= at).map((record) => (record.value as { content: string }).content);
    expect(since).toContain("three");
    expect(lines(fromTime.output).map((line) => (line.value as { content: string }).content)).toEqual(since);

    const follow = runCli(["events", "tail", "messages", "--from", "end", "--follow", "--key", conversation], { ...env, LOG_LEVEL: "warn" });
    // Until it has its partitions it reads nothing: keep sending until one arrives, then interrupt it.
    await eventually(async () => {
      await producer.send([messageCommands.send(conversation, "alice", "followed")]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return follow.output().includes('"content":"followed"') ? true : undefined;
    }, 60_000, "a followed record");
    expect(follow.output()).toMatch(new RegExp(`^${topics.messageEvents.replaceAll(".", "\\.")}/\\d@\\d+ \\S+Z key=${conversation} quikchat\\.messages\\.MessageSent \\{`, "m"));
    follow.child.kill("SIGINT");
    expect(await follow.exited).toBe(0);
  });
});
