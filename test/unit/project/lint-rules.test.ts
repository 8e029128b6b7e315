import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../src/platform/config/project.js";

/** The project's own lint configuration, restricted to its architectural rules (no type information needed). */
const eslint = new ESLint({
  cwd: projectRoot(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId.startsWith("no-restricted"),
});

const impure = [
  'import { Kafka } from "kafkajs";',
  'import { randomUUID } from "node:crypto";',
  'import { createRedis } from "../../infra/redis/redis-connection.js";',
  "export const decidedAt = () => Date.now();",
  "export const used = [Kafka, randomUUID, createRedis];",
].join("\n");

async function violations(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${projectRoot()}/${path}` });
  return (result?.messages ?? []).map((message) => `${message.ruleId ?? "parse"}: ${message.message}`);
}

describe("lint rules that keep the architecture", () => {
  it("refuse I/O, clocks, ids and infrastructure in the domain", async () => {
    const found = await violations("src/contexts/conversations/domain/messages/decide.ts", impure);
    expect(found.filter((line) => line.startsWith("no-restricted-imports"))).toHaveLength(3);
    expect(found).toContainEqual(expect.stringContaining("Time arrives in the command metadata"));
  });

  it("allow the same imports outside the domain", async () => {
    expect(await violations("src/infra/kafka/example.ts", impure)).toEqual([]);
  });

  it("let only the config loader read the environment", async () => {
    const source = "export const port = process.env.PORT;";
    expect(await violations("src/platform/gateway/example.ts", source)).toEqual([
      "no-restricted-syntax: Read configuration through loadConfig(env) only.",
    ]);
    expect(await violations("src/platform/config/example.ts", source)).toEqual([]);
  });

  it("keep the platform free of contexts, and let roles and tools reach them only through their list", async () => {
    const aContext = 'import { presence } from "../../contexts/presence/module.js";\nexport const used = presence;';
    expect(await violations("src/platform/gateway/example.ts", aContext)).toEqual([
      expect.stringContaining("no-restricted-imports: '../../contexts/presence/module.js' import is restricted"),
    ]);
    const fromCli = 'import { presence } from "../contexts/presence/module.js";\nexport const used = presence;';
    expect(await violations("src/cli/example.ts", fromCli)).toHaveLength(1);
    const theList = 'import { CONTEXT_MODULES } from "../contexts/index.js";\nexport const used = CONTEXT_MODULES;';
    expect(await violations("src/cli/example.ts", theList)).toEqual([]);
  });
});
