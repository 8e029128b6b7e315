import { InvalidArgumentError, type Command } from "commander";
import { CONTEXT_MODULES, settingsOf, type Config } from "../contexts/index.js";
import type { ContextModule } from "../platform/context-module.js";
import type { AnyProcessorDefinition } from "../platform/processor/processor-definition.js";
import { isContextName, TOPICS, type CommandContext } from "../platform/contract/topics.js";
import { withKafkaTools, type KafkaTools } from "./kafka-tools.js";
import { ToolError } from "./tool-error.js";
import { isoTime, jsonLine } from "./tool-output.js";
import { metaOf, parseTime, partitionOfKey, planRanges, readAll, typeOf, type ToolRecord } from "./topic-reader.js";

/**
 * Where time travel stops: an offset (inclusive) of the aggregate's partition of the named
 * context's events topic, or of `topic` (another of the aggregate's events topics), or a time (inclusive).
 */
export type AggregatePoint = { readonly kind: "offset"; readonly offset: number; readonly topic?: string } | { readonly kind: "time"; readonly at: number };

/** Parses `--at`: an offset or an ISO time; undefined for anything else. */
export function parseAggregatePoint(text: string): AggregatePoint | undefined {
  if (/^\d+$/.test(text)) return { kind: "offset", offset: Number(text) };
  const at = parseTime(text);
  return at === undefined ? undefined : { kind: "time", at };
}

export interface AggregateView {
  readonly context: string;
  readonly id: string;
  /** The events topics the aggregate's events are on and the partition they share. */
  readonly topics: readonly string[];
  readonly partition: number;
  /** The state folded from `events` with the context's own `evolve`. */
  readonly state: unknown;
  readonly events: readonly ToolRecord[];
}

/** The processor definitions of every context module, as the processor role runs them. */
function processorDefinitions(config: Config): AnyProcessorDefinition[] {
  const modules: readonly ContextModule<string, unknown>[] = CONTEXT_MODULES;
  return modules.flatMap((module) => module.processors?.(settingsOf(config, module)) ?? []);
}

/** The contexts whose aggregates a processor decides, in the order of the module list. */
export function aggregateContexts(config: Config): string[] {
  return processorDefinitions(config).flatMap((definition) => definition.contexts as readonly string[]);
}

/**
 * The state of aggregate `id` of `context` folded from its events up to `at` (all of them without),
 * with the events that made it: time travel over the log.
 *
 * The aggregate is the one the processor of `context` decides (a processor may decide several
 * contexts: the conversation aggregate is over `conversations` and `messages`). Its events are
 * read from the partition its key hashes to on each of those contexts' events topics (they are
 * co-partitioned), keyed by `id`, and folded with the decider's own pure `evolve`. Across topics,
 * events are ordered by record time, then in the definition's context order, then by offset: one
 * processor writes them all, in decision order, so that is the order it evolved them in except
 * for events of two topics written in the same millisecond.
 */
export async function showAggregate(tools: KafkaTools, context: string, id: string, at?: AggregatePoint): Promise<AggregateView> {
  const definitions = processorDefinitions(tools.config);
  const definition = isContextName(context) ? definitions.find((candidate) => (candidate.contexts as readonly string[]).includes(context)) : undefined;
  if (definition === undefined) {
    throw new ToolError(`no processor decides aggregates of ${context}; the contexts with aggregates are ${aggregateContexts(tools.config).join(", ")}`);
  }
  const contexts = definition.contexts as readonly CommandContext[];
  const topics = contexts.map((c) => tools.prefix + TOPICS[c].events);
  const owner = topics[0]!;
  if (!(await tools.admin.listTopics()).includes(owner)) throw new ToolError(`no such topic: ${owner} (quikchat bootstrap, or start, creates the contract's topics)`);
  const partition = partitionOfKey(id, (await tools.admin.fetchTopicOffsets(owner)).length);
  const ranges = await planRanges(tools.admin, topics, { kind: "beginning" }, { kind: "end" }, new Set([partition]));
  const rank = (record: ToolRecord) => topics.indexOf(record.topic);
  const all = (await readAll(tools.codec, ranges, tools.readOptions("aggregate")))
    .filter((record) => record.key === id && record.fullName !== undefined)
    .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0) || rank(a) - rank(b) || a.offset - b.offset);
  const named = at?.kind === "offset" && at.topic !== undefined ? at.topic : tools.prefix + TOPICS[context as CommandContext].events;
  if (!topics.includes(named)) throw new ToolError(`${named} is not one of the topics of ${context} aggregates (${topics.join(", ")})`);
  const events = all.filter(cutAt(all, named, at));
  const decider = definition.decider;
  const state = events.reduce((current: unknown, record) => decider.evolve(current, { type: typeOf(record), data: record.value }), decider.initialState());
  return { context, id, topics, partition, state, events };
}

/** Which events `at` keeps: those up to the offset on `topic` (and no later in time on the other topics), or up to the time. */
function cutAt(all: readonly ToolRecord[], topic: string, at: AggregatePoint | undefined): (record: ToolRecord) => boolean {
  if (at === undefined) return () => true;
  if (at.kind === "time") return (record) => (record.timestamp ?? 0) <= at.at;
  const last = all.filter((record) => record.topic === topic && record.offset <= at.offset).at(-1);
  if (last === undefined) return () => false;
  const index = all.indexOf(last);
  return (record) => all.indexOf(record) <= index;
}

/** The view for people: the state as indented JSON, then the events that made it. */
export function formatAggregate(view: AggregateView): string {
  const lines = view.events.map((record) => `  ${record.topic}/${record.partition}@${record.offset} ${isoTime(record.timestamp)} ${typeOf(record) ?? "?"} ${metaOf(record)?.eventId ?? ""}`);
  return [
    `${view.context} ${view.id} (partition ${view.partition} of ${view.topics.join(", ")}), after ${view.events.length} event(s):`,
    JSON.stringify(JSON.parse(jsonLine(view.state)), null, 2),
    "events:",
    ...(lines.length > 0 ? lines : ["  (none)"]),
  ].join("\n");
}

export function registerAggregateShow(program: Command, config: () => Config): void {
  program
    .command("aggregate")
    .description("aggregates as their processor decides them")
    .command("show")
    .description("an aggregate's state folded from its events (up to --at: time travel) and the events that made it")
    .argument("<context>", "a context with aggregates, e.g. conversations, messages, presence, typing")
    .argument("<id>", "the aggregate id (its key: a conversation, user, call or huddle id)")
    .option("--at <offset|time>", "stop at this offset of the context's events partition, or at this ISO time (inclusive)", (text: string) => {
      const point = parseAggregatePoint(text);
      if (point === undefined) throw new InvalidArgumentError("expected an offset (a number) or an ISO time (2026-12-03T10:00:00Z)");
      return point;
    })
    .option("--json", "one JSON object: state and events", false)
    .action(async (context: string, id: string, options: { at?: AggregatePoint; json: boolean }) => {
      const view = await withKafkaTools(config(), (tools) => showAggregate(tools, context, id, options.at));
      console.log(options.json ? jsonLine({ ...view, events: view.events.map((record) => ({ topic: record.topic, partition: record.partition, offset: record.offset, timestamp: isoTime(record.timestamp), record: record.fullName, value: record.value })) }) : formatAggregate(view));
    });
}
