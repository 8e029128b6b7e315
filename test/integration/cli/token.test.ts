import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/contexts/index.js";
import { createJwtVerifier } from "../../../src/platform/gateway/jwt-verifier.js";
import { runCli } from "../../support/service-process.js";
import { TEST_JWT_SECRET } from "../../support/tokens.js";

/** `quikchat token …` with `env`: its exit code and what it printed. */
async function token(args: readonly string[], env: Record<string, string> = {}) {
  const run = runCli(["token", ...args], { JWT_SECRET: TEST_JWT_SECRET, ...env });
  const code = await run.exited;
  return { code, output: run.output() };
}

describe("quikchat token", () => {
  it.concurrent("prints a token the gateway accepts, for the user, workspace and lifetime asked", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { code, output } = await token(["alice", "--workspace", "w-team", "--ttl", "2h"], { JWT_ISSUER: "https://auth.example", JWT_AUDIENCE: "quikchat" });
    expect(code).toBe(0);
    expect(output).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const verifier = await createJwtVerifier(loadConfig({ JWT_SECRET: TEST_JWT_SECRET, JWT_ISSUER: "https://auth.example", JWT_AUDIENCE: "quikchat" }).auth);
    const verified = await verifier.verify(output.trim());
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.token).toMatchObject({ userId: "alice", workspaceId: "w-team" });
    expect(verified.token.expiresAt - before).toBeGreaterThanOrEqual(7_200);
    expect(verified.token.expiresAt - before).toBeLessThan(7_200 + 60);
  });

  it.concurrent("signs with the development key when JWT_SECRET is unset, valid for an hour", async () => {
    const { code, output } = await token(["bob"], { JWT_SECRET: "" });
    expect(code).toBe(0);
    const verified = await (await createJwtVerifier(loadConfig({}).auth)).verify(output.trim());
    expect(verified.ok && verified.token.workspaceId).toBe("default");
    expect(verified.ok && verified.token.expiresAt - Date.now() / 1000).toBeGreaterThan(3_500);
  });

  it.concurrent("refuses in production with one line", async () => {
    const { code, output } = await token(["alice"], { NODE_ENV: "production", JWT_SECRET: "kq3Vd8n2XwLr5tYb9Zc1Fg7Hj4Mp6Qs0UaEiOoRu" });
    expect(code).toBe(1);
    expect(output).toBe("quikchat: token: refused with NODE_ENV=production; there, tokens come from your auth service (README: Tokens)\n");
  });

  it.concurrent("refuses a lifetime it cannot read with one line", async () => {
    const { code, output } = await token(["alice", "--ttl", "soon"]);
    expect(code).toBe(1);
    expect(output).toBe("quikchat: --ttl soon: give seconds (3600) or a number with s, m, h or d (90m, 1h, 7d)\n");
  });
});
