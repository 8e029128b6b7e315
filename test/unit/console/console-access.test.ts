import { SignJWT } from "jose";
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { developmentToken } from "../../../src/cli/dev-token.js";
import { loadConfig } from "../../../src/contexts/index.js";
import { metricsOverview } from "../../../src/console/metrics-overview.js";
import { Confirmations, credentialOf, operatorAccess, sessionCookie } from "../../../src/console/operator-access.js";
import { createJwtVerifier } from "../../../src/platform/gateway/jwt-verifier.js";

const SECRET = "unit-test-secret-0123456789abcdef-0123";
const KEY = "console-key-0123456789abcdef-0123456789";
const token = (claims: Record<string, unknown>) =>
  new SignJWT({ workspace_id: "w1", ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("olga")
    .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
    .sign(new TextEncoder().encode(SECRET));

describe("the console's configuration", () => {
  it("is on outside production and off in production until enabled or given a key", () => {
    expect(loadConfig({}).console).toEqual({ enabled: true });
    const production = { NODE_ENV: "production", JWT_SECRET: "kq3Vd8n2XwLr5tYb9Zc1Fg7Hj4Mp6Qs0UaEiOoRu" };
    expect(loadConfig(production).console.enabled).toBe(false);
    expect(loadConfig({ ...production, CONSOLE_ENABLED: "true" }).console.enabled).toBe(true);
    expect(loadConfig({ ...production, CONSOLE_KEY: KEY }).console).toEqual({ enabled: true, key: KEY });
    expect(loadConfig({ CONSOLE_ENABLED: "false" }).console.enabled).toBe(false);
  });

  it("refuses a short key, and a key with the console switched off", () => {
    expect(() => loadConfig({ CONSOLE_KEY: "short" })).toThrow(/CONSOLE_KEY: must be at least 32 characters/);
    expect(() => loadConfig({ CONSOLE_ENABLED: "false", CONSOLE_KEY: KEY })).toThrow(/CONSOLE_KEY: set while CONSOLE_ENABLED=false/);
  });
});

describe("operator access", () => {
  const access = async (key?: string) => operatorAccess(await createJwtVerifier({ jwtSecret: SECRET, acceptHs256: true }), key);

  it("lets in a token whose roles claim holds operator, or the console key", async () => {
    const check = await access(KEY);
    expect(await check(await token({ roles: ["support", "operator"] }))).toMatchObject({ ok: true, operator: "olga" });
    expect(await check(KEY)).toMatchObject({ ok: true, operator: "console key" });
  });

  it("lets in a development token asked with the operator role (quikchat token --operator), and not one without", async () => {
    const check = await access();
    const config = loadConfig({ JWT_SECRET: SECRET });
    const request = { userId: "dev", workspaceId: "default", ttlSeconds: 60 };
    expect(await check(await developmentToken(config, { ...request, roles: ["operator"] }))).toMatchObject({ ok: true, operator: "dev" });
    expect(await check(await developmentToken(config, request))).toMatchObject({ ok: false, status: 403 });
  });

  it("answers 401 without a credential or with a bad one, 403 for a valid token without the role", async () => {
    const check = await access(KEY);
    expect(await check(undefined)).toMatchObject({ ok: false, status: 401 });
    expect(await check(`${KEY}x`)).toMatchObject({ ok: false, status: 401 });
    expect(await check(await token({}))).toMatchObject({ ok: false, status: 403, message: expect.stringContaining("olga is not an operator") as unknown });
    expect(await check(await token({ roles: "operator" }))).toMatchObject({ ok: false, status: 403 });
    // Without a configured key, nothing but an operator token gets in.
    expect(await (await access())(KEY)).toMatchObject({ ok: false, status: 401 });
  });

  it("reads the credential from the Authorization header, else from the session cookie", () => {
    expect(credentialOf({ authorization: "Bearer abc" , cookie: "quikchat_console=def" })).toBe("abc");
    expect(credentialOf({ cookie: "a=1; quikchat_console=d%3Def; b=2" })).toBe("d=ef");
    expect(credentialOf({})).toBeUndefined();
    expect(sessionCookie("abc", undefined, true)).toMatch(/^quikchat_console=abc; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    expect(sessionCookie("", undefined, false)).toContain("Max-Age=0");
  });
});

describe("confirmations", () => {
  it("confirm one action on one target, until they expire", () => {
    const confirmations = new Confirmations(1_000);
    const issued = confirmations.issue("replay", "messages/0:3", 10_000);
    expect(confirmations.check(issued, "replay", "messages/0:3", 10_500)).toBe(true);
    expect(confirmations.check(issued, "replay", "messages/0:4", 10_500)).toBe(false);
    expect(confirmations.check(issued, "rebuild", "messages/0:3", 10_500)).toBe(false);
    expect(confirmations.check(issued, "replay", "messages/0:3", 11_001)).toBe(false);
    expect(confirmations.check("99999999999999.forged", "replay", "messages/0:3", 10_500)).toBe(false);
    expect(new Confirmations().check(issued, "replay", "messages/0:3", 10_500)).toBe(false);
  });
});

describe("the overview", () => {
  it("groups a process's metrics by their labels, with counts, sums and bucket quantiles", async () => {
    const registry = new Registry();
    const commands = new Counter({ name: "quikchat_commands_total", help: "h", labelNames: ["context", "outcome"], registers: [registry] });
    commands.inc({ context: "messages", outcome: "accepted" }, 3);
    const replies = new Histogram({ name: "quikchat_command_reply_seconds", help: "h", labelNames: ["context", "type", "outcome"], buckets: [0.01, 0.1, 1], registers: [registry] });
    for (const seconds of [0.005, 0.05, 0.05, 0.5]) replies.observe({ context: "messages", type: "SendMessage", outcome: "accepted" }, seconds);
    const sections = await metricsOverview(registry);
    expect(sections.map((section) => section.metric)).toEqual(["quikchat_commands_total", "quikchat_command_reply_seconds"]);
    expect(sections[0]).toMatchObject({ kind: "counter", rows: [{ labels: { context: "messages", outcome: "accepted" }, value: 3 }] });
    expect(sections[1]!.rows[0]).toMatchObject({ count: 4, p50: 0.1, p99: 1 });
    expect(sections[1]!.rows[0]!.sum).toBeCloseTo(0.605);
  });
});
