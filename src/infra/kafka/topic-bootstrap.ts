import { setTimeout as sleep } from "node:timers/promises";
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
 * partition counts included, because changing them would move keys between partitions), and
 * returns once every partition of them has a leader. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], settings: TopicSettings): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length === 0) return [];
  await admin.createTopics({ waitForLeaders: false, topics: missing.map((spec) => topicConfig(spec, settings)) });
  const names = missing.map((spec) => spec.name);
  await leadersOf(admin, names);
  return names;
}

/**
 * Waits until every partition of `topics` has a leader. A broker busy creating many topics at
 * once may answer metadata requests for a topic it has just created with "does not host this
 * topic-partition" for a while (kafkajs's own wait for leaders, on by default, gives up on that
 * answer at once).
 */
async function leadersOf(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (found.every(({ partitions }) => partitions.length > 0 && partitions.every(({ leader }) => leader >= 0))) return;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`the new topics still had partitions without a leader after ${timeoutMs} ms (${topics.join(", ")})`, { cause: last });
}

/** Whether a kafkajs error (or the last of its retries) says to try again. */
function isRetriable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { retriable, originalError } = error as { retriable?: unknown; originalError?: unknown };
  return retriable === true || (originalError !== undefined && isRetriable(originalError));
}
