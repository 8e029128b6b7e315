/**
 * What an analytics consumer needs to know about each topic of the contract, derived from the
 * catalog (`schemas/`), the contexts' specs and the topic configuration bootstrap applies, so that
 * the documentation (`schemas/README.md`, checked by a test, rewritten by `npm run gen:docs`) is
 * never written twice.
 */
import { topicConfig } from "../../infra/kafka/topic-bootstrap.js";
import { COMPATIBILITY_RULE } from "./compatibility.js";
import type { CatalogRecord } from "./schema-catalog.js";
import { ALL_TOPICS, CONTEXT_SPECS, topicName } from "./topics.js";

export interface TopicFacts {
  readonly topic: string;
  /** The record names its values hold, or what it holds when it is not Avro. */
  readonly records: string;
  readonly key: string;
  readonly partitions: string;
  /** What is in order: every record of one key, or the whole topic when it has one partition. */
  readonly order: string;
  readonly retention: string;
  readonly compatibility: string;
}

const DAY_MS = 86_400_000;
/** Stands for the configured partition count in the facts (any number that no other setting uses). */
const CONFIGURED_PARTITIONS = 7_919;
/** Stands for the configured ephemeral retention. */
const CONFIGURED_EPHEMERAL_MS = 7_919_000;

function retentionOf(kind: (typeof ALL_TOPICS)[number]["kind"], ephemeral: boolean): { retention: string; partitions: string; order: string } {
  const config = topicConfig({ name: "", kind, ephemeral }, { partitions: CONFIGURED_PARTITIONS, replicationFactor: 1, ephemeralRetentionMs: CONFIGURED_EPHEMERAL_MS });
  const entry = (name: string) => config.configEntries?.find((candidate) => candidate.name === name)?.value;
  const ms = Number(entry("retention.ms"));
  const retention =
    entry("cleanup.policy") === "compact"
      ? "compacted: the latest record per key"
      : ms === CONFIGURED_EPHEMERAL_MS
        ? "`KAFKA_EPHEMERAL_RETENTION_MS`"
        : ms < 0
          ? "forever"
          : `${ms / DAY_MS} days`;
  const partitions = config.numPartitions === CONFIGURED_PARTITIONS ? "`KAFKA_PARTITIONS`, by key (murmur2)" : `${config.numPartitions ?? "?"}`;
  const order = config.numPartitions === 1 ? "the whole topic, in the order written" : "per key, in the order written";
  return { retention, partitions, order };
}

/** The facts of every topic of the contract, in catalog order (per context: events, commands, state, dlq). */
export function topicFacts(records: readonly CatalogRecord[]): TopicFacts[] {
  return ALL_TOPICS.map((spec) => {
    const kind = spec.kind === "events" ? "event" : "command";
    const names = records.filter((record) => record.context === spec.context && record.kind === kind).map((record) => record.name);
    const holds =
      spec.kind === "state"
        ? "the processor's aggregate snapshots as JSON (internal, not Avro)"
        : spec.kind === "dlq" && CONTEXT_SPECS[spec.context].upstream
          ? `the records of \`${topicName(spec.context, "events")}\` that could not be decoded, as read, with headers \`error\`, \`error_code\` (\`undecodable\`), \`source_topic\`, \`source_partition\`, \`source_offset\``
          : spec.kind === "dlq"
          ? `commands that failed, as read, with headers \`error\`, \`error_code\`, \`source_topic\`, \`source_partition\`, \`source_offset\` (and \`replay_of\` when a replay failed): ${names.join(", ")}`
          : names.join(", ");
    return {
      topic: spec.name,
      records: holds,
      key: spec.kind === "state" ? "the aggregate id (internal)" : `\`${CONTEXT_SPECS[spec.context].keyField}\``,
      ...retentionOf(spec.kind, spec.ephemeral),
      compatibility: spec.kind === "state" ? "-" : COMPATIBILITY_RULE,
    };
  });
}

/** The facts as a Markdown table. */
export function renderTopicFacts(facts: readonly TopicFacts[]): string {
  const rows = facts.map((f) => `| \`${f.topic}\` | ${f.records} | ${f.key} | ${f.partitions} | ${f.order} | ${f.retention} | ${f.compatibility} |`);
  return ["| topic | records | key | partitions | order | retention | compatibility |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}

/** The markers of the generated table in a Markdown file. */
export const TOPIC_FACTS_MARKERS = { start: "<!-- topic-facts:start (npm run gen:docs) -->", end: "<!-- topic-facts:end -->" } as const;

/** `markdown` with the text between the markers replaced by `table`; throws when the markers are missing. */
export function withTopicFacts(markdown: string, table: string): string {
  const start = markdown.indexOf(TOPIC_FACTS_MARKERS.start);
  const end = markdown.indexOf(TOPIC_FACTS_MARKERS.end);
  if (start < 0 || end < start) throw new Error(`the file has no ${TOPIC_FACTS_MARKERS.start} … ${TOPIC_FACTS_MARKERS.end} section`);
  return `${markdown.slice(0, start + TOPIC_FACTS_MARKERS.start.length)}\n${table}\n${markdown.slice(end)}`;
}
