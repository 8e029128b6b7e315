import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/platform/config/project.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { TEST_JWT_SECRET, tokenFor } from "../support/tokens.js";

/** The README's code blocks of one language, in order. */
function readmeBlocks(language: string): string[] {
  const readme = readFileSync(join(projectRoot(), "README.md"), "utf8");
  return [...readme.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((match) => match[1]!);
}

/** Runs `command` with `args` to its end, or kills it after `timeoutMs`; resolves with its output. */
function run(command: string, args: readonly string[], env: Record<string, string>, cwd: string, until?: (output: string) => boolean, timeoutMs = 60_000) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const done = () => child.kill("SIGTERM");
    const timer = setTimeout(done, timeoutMs);
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (until?.(output)) done();
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * The README's snippets, run as a reader would run them, against a real service: the client
 * snippet with the stock phoenix client (its placeholder address and conversation replaced), the
 * development token and the request that uses it. Every JavaScript block of the README is here.
 */
describe("the README's snippets", () => {
  let service: ServiceProcess | undefined;
  let base = "";
  const scratch = mkdtempSync(join(projectRoot(), "node_modules", ".cache-readme-"));

  beforeAll(async () => {
    ({ service, base } = await startService("readme"));
  }, 150_000);

  afterAll(() => {
    service?.child.kill("SIGKILL");
    rmSync(scratch, { recursive: true, force: true });
  });

  it("runs every JavaScript snippet: the client joins, sends and receives its message", async () => {
    const snippets = readmeBlocks("js");
    expect(snippets).toHaveLength(1);
    const token = await tokenFor("alice");
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: ["bob"], name: "README" }),
    });
    const { id } = (await created.json()) as { id: string };
    const code = snippets[0]!.replace("wss://chat.example.com", base.replace("http", "ws")).replaceAll("chat:123", `chat:${id}`);
    mkdirSync(scratch, { recursive: true });
    const file = join(scratch, "client.mjs");
    // What the snippet leaves to the application: where the token comes from.
    writeFileSync(file, `const auth = { currentAccessToken: () => process.env.TOKEN };\n${code}`);
    const { output } = await run(process.execPath, [file], { TOKEN: token }, projectRoot(), (text) => text.includes("#1 alice: hi"));
    expect(output).toContain(`joined chat:${id}`);
    expect(output).toContain("sent 1");
    expect(output).toContain("#1 alice: hi");
  }, 90_000);

  it("runs the development token snippet: the token opens the REST API", async () => {
    const snippet = readmeBlocks("sh").find((block) => block.includes("quikchat -- token"));
    expect(snippet).toBeDefined();
    const script = snippet!.replaceAll("http://127.0.0.1:4000", base);
    const { code, output } = await run("bash", ["-euo", "pipefail", "-c", script], { JWT_SECRET: TEST_JWT_SECRET, QUIKCHAT_STACK: "off", LOG_LEVEL: "warn" }, projectRoot());
    expect([code, output]).toEqual([0, expect.any(String)]);
    expect(JSON.parse(output.trim().split("\n").at(-1)!)).toMatchObject({ workspace_id: "w1" });
  }, 90_000);
});
