import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../../src/platform/config/project.js";
import { loadSchemaCatalog } from "../../../../src/platform/contract/schema-catalog.js";
import { renderTopicFacts, TOPIC_FACTS_MARKERS, topicFacts, withTopicFacts } from "../../../../src/platform/contract/topic-facts.js";
import { ALL_TOPICS, CONTEXT_SPECS, CONTEXTS } from "../../../../src/platform/contract/topics.js";

const read = (file: string) => readFileSync(join(projectRoot(), file), "utf8");

describe("the topic documentation for analytics consumers", () => {
  it("has every topic's generated facts in schemas/README.md, up to date (npm run gen:docs)", () => {
    const readme = read("schemas/README.md");
    expect(readme).toContain(TOPIC_FACTS_MARKERS.start);
    expect(withTopicFacts(readme, renderTopicFacts(topicFacts(loadSchemaCatalog())))).toBe(readme);
  });

  it("says each topic's records, key, partitions, retention and compatibility from the contract", () => {
    const facts = topicFacts(loadSchemaCatalog());
    expect(facts.map((fact) => fact.topic)).toEqual(ALL_TOPICS.map((topic) => topic.name));
    expect(facts.find((fact) => fact.topic === "quikapp.messages.events")).toMatchObject({
      key: "`conversationId`",
      retention: "forever",
      partitions: "`KAFKA_PARTITIONS`, by key (murmur2)",
      order: "per key, in the order written",
      compatibility: "FULL",
      records: expect.stringContaining("MessageSent"),
    });
    expect(facts.find((fact) => fact.topic === "quikapp.typing.events")?.retention).toBe("`KAFKA_EPHEMERAL_RETENTION_MS`");
    expect(facts.find((fact) => fact.topic === "quikapp.messages.dlq")).toMatchObject({ partitions: "1", order: "the whole topic, in the order written", retention: "30 days" });
  });

  it("groups the contexts in the README's topic table as their specs do: kept, ephemeral, upstream", () => {
    const section = read("README.md").split("## Topics and schemas")[1]!.split("\n## ")[0]!;
    const row = (marker: string) =>
      (section.split("\n").find((line) => line.startsWith("| ") && line.includes(marker) && !line.startsWith("| context")) ?? "")
        .split("|")[1]!
        .replace(/\(.*\)/, "")
        .split(",")
        .map((name) => name.trim())
        .filter((name) => name !== "")
        .sort();
    const where = (test: (spec: (typeof CONTEXT_SPECS)[keyof typeof CONTEXT_SPECS]) => boolean) => CONTEXTS.filter((context) => test(CONTEXT_SPECS[context])).sort();
    expect(row("(ephemeral)")).toEqual(where((spec) => spec.ephemeral));
    expect(row("(upstream)")).toEqual(where((spec) => spec.upstream));
    expect(row("(kept forever)")).toEqual(where((spec) => !spec.ephemeral && !spec.upstream));
  });

  it("keys the hand-written table of schemas/README.md as the contexts' specs do, one row per context", () => {
    const rows = [...read("schemas/README.md").matchAll(/^\| (\w+) \| `quikapp\.(\w+)\.events` \| `(\w+)` \|/gm)].map((match) => ({ context: match[1], topicContext: match[2], key: match[3] }));
    expect(rows.map((row) => row.context).sort()).toEqual([...CONTEXTS].sort());
    for (const row of rows) {
      expect(row.topicContext).toBe(row.context);
      expect(row.key, row.context).toBe(CONTEXT_SPECS[row.context as keyof typeof CONTEXT_SPECS].keyField);
    }
  });
});
