import type { Admin, ITopicConfig } from "kafkajs";

/** How a topic is used, which decides its retention and cleanup. */
export interface TopicSpec {
  readonly name: string;
  readonly kind: "events" | "commands" | "state" | "dlq";
  /** Typing and WebRTC signals: worthless after a short while. */
  readonly ephemeral: boolean;
}

export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly ephemeralRetentionMs: number;
}

const DAY_MS = 86_400_000;

/**
 * Per-kind topic configuration. Events are the source of truth and are kept forever (rebuilds
 * replay them from the beginning); changelogs are compacted to the latest state per aggregate;
 * commands are kept a week for debugging; dead letters a month, for replay after a fix.
 */
export function topicConfig(spec: TopicSpec, settings: TopicSettings): ITopicConfig {
  const entries: Record<string, string> = {};
  if (spec.kind === "state") {
    entries["cleanup.policy"] = "compact";
    entries["min.compaction.lag.ms"] = "0";
    entries["segment.ms"] = String(DAY_MS);
  } else if (spec.ephemeral) {
    entries["retention.ms"] = String(settings.ephemeralRetentionMs);
    entries["segment.ms"] = String(Math.max(60_000, settings.ephemeralRetentionMs));
  } else {
    entries["retention.ms"] = String({ events: -1, commands: 7 * DAY_MS, dlq: 30 * DAY_MS }[spec.kind]);
  }
  return {
    topic: spec.name,
    numPartitions: spec.kind === "dlq" ? 1 : settings.partitions,
    replicationFactor: settings.replicationFactor,
    configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
  };
}

/**
 * Creates the topics that do not exist yet (idempotent; existing topics are left as they are,
 * partition counts included, because changing them would move keys between partitions).
 * Returns the names it created.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], settings: TopicSettings): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((spec) => topicConfig(spec, settings)),
  });
  return missing.map((spec) => spec.name);
}
