import type { Command } from "commander";
import type { Config } from "../contexts/index.js";
import { withKafkaTools, type KafkaTools } from "./kafka-tools.js";
import { formatTable, jsonLine } from "./tool-output.js";

/** One partition a consumer group of the service reads. */
export interface GroupLag {
  readonly group: string;
  /** The group's state as the coordinator reports it (Stable, Empty, …) and how many members it has. */
  readonly state: string;
  readonly members: number;
  readonly topic: string;
  readonly partition: number;
  /** The group's committed next offset; undefined when it committed none on this partition. */
  readonly committed: number | undefined;
  readonly highWatermark: number;
  /** Offsets not read yet (a transaction marker counts one). */
  readonly lag: number;
}

/**
 * The lag of every consumer group of this deployment (`<prefix>quikchat.…`: processors and the
 * projections' groups) on every partition it committed offsets for, as Kafka sees it. Projections
 * keep their own checkpoints with their read models: `projections status` shows those.
 */
export async function groupsLag(tools: KafkaTools): Promise<GroupLag[]> {
  const ours = (await tools.admin.listGroups()).groups
    .map(({ groupId }) => groupId)
    .filter((groupId) => groupId.startsWith(`${tools.prefix}quikchat.`) && !groupId.startsWith(`${tools.prefix}quikchat.tools.`))
    .sort();
  if (ours.length === 0) return [];
  const described = new Map((await tools.admin.describeGroups(ours)).groups.map((group) => [group.groupId, group]));
  const highs = new Map<string, Map<number, number>>();
  const highOf = async (topic: string) => {
    let found = highs.get(topic);
    if (found === undefined) {
      found = new Map((await tools.admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, Number(high)]));
      highs.set(topic, found);
    }
    return found;
  };
  const rows: GroupLag[] = [];
  for (const group of ours) {
    const info = described.get(group);
    for (const { topic, partitions } of await tools.admin.fetchOffsets({ groupId: group })) {
      const high = await highOf(topic);
      for (const { partition, offset } of [...partitions].sort((a, b) => a.partition - b.partition)) {
        const committed = Number(offset) >= 0 ? Number(offset) : undefined;
        const highWatermark = high.get(partition) ?? 0;
        rows.push({ group, state: info?.state ?? "Unknown", members: info?.members.length ?? 0, topic, partition, committed, highWatermark, lag: committed === undefined ? highWatermark : Math.max(0, highWatermark - committed) });
      }
    }
  }
  return rows;
}

/** The rows as a table. */
export function formatGroupsLag(rows: readonly GroupLag[]): string {
  if (rows.length === 0) return "no consumer group of this deployment has committed offsets";
  const table = [["group", "state", "members", "topic", "partition", "committed", "high watermark", "lag"], ...rows.map((r) => [r.group, r.state, String(r.members), r.topic, String(r.partition), r.committed === undefined ? "-" : String(r.committed), String(r.highWatermark), String(r.lag)])];
  return formatTable(table, (column) => column === 2 || column >= 4).join("\n");
}

export function registerGroupsLag(program: Command, config: () => Config): void {
  program
    .command("groups")
    .description("the deployment's Kafka consumer groups")
    .command("lag")
    .description("consumer lag per group, topic and partition (committed offset vs high watermark)")
    .option("--json", "one JSON object per line", false)
    .action(async (options: { json: boolean }) => {
      const rows = await withKafkaTools(config(), groupsLag);
      if (options.json) for (const row of rows) console.log(jsonLine(row));
      else console.log(formatGroupsLag(rows));
    });
}
