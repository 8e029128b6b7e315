import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Socket } from "phoenix";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapContract } from "../../src/cli/bootstrap.js";
import { TOPICS } from "../../src/platform/contract/topics.js";
import { RecordProducer } from "../../src/infra/kafka/record-producer.js";
import { CHROMIUM, ensureChromium } from "../support/browser-install.js";
import { connectSocket, joinChannel, pushTo } from "../support/phoenix-client.js";
import { MessageCommands } from "../support/processor-harness.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "../support/tokens.js";

/** Where the screenshots go (gitignored): kept after the run as the test's artifacts. */
const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts", "console");

/** A token of `userId` with the operator role (`"roles": ["operator"]`). */
const operatorToken = (userId: string) =>
  new SignJWT({ workspace_id: "w1", roles: ["operator"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3_600)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));

/**
 * The operators' console in a real headless browser (Debian's chromium, driven by
 * playwright-core) against a service of every role: sign-in and refusals, a message sent by a
 * stock phoenix client on the live events page, its conversation's timeline, and a dead letter
 * replayed after a confirmation.
 */
describe("the web console, in a browser", () => {
  const prefix = uniquePrefix("console");
  let service: ServiceProcess;
  let base: string;
  let browser: Browser;
  let operator: BrowserContext;
  let page: Page;
  let socket: Socket | undefined;
  let conversationId: string;
  const shot = (name: string, target: Page = page) => target.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    ensureChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    [{ service, base }, browser] = await Promise.all([
      startService("console", { KAFKA_TOPIC_PREFIX: prefix }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      }),
    ]);
    operator = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await operator.newPage();
  }, 180_000);

  afterAll(async () => {
    socket?.disconnect();
    await browser?.close();
    service?.child.kill("SIGTERM");
    await service?.exited;
  });

  it("refuses whoever is not an operator: the pages and the API under them", async () => {
    expect((await fetch(`${base}/console/api/overview`)).status).toBe(401);
    const user = await tokenFor("mallory");
    const refused = await fetch(`${base}/console/api/dead-letters/messages`, { headers: { authorization: `Bearer ${user}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain("not an operator");
    const replay = await fetch(`${base}/console/api/dead-letters/messages/0:0/replay`, { method: "POST", headers: { authorization: `Bearer ${user}`, "content-type": "application/json" }, body: "{}" });
    expect(replay.status).toBe(403);

    const visitor = await browser.newPage();
    const first = await visitor.goto(`${base}/console/dead-letters`);
    expect(first?.status()).toBe(401);
    await visitor.fill("textarea[name=credential]", user);
    await visitor.click("button[type=submit]");
    await visitor.getByText("mallory is not an operator").waitFor();
    expect(await visitor.textContent("h1")).toBe("Not an operator");
    await shot("refused", visitor);
    await visitor.close();
  });

  it("signs an operator in; a message sent by a stock phoenix client shows on the live events page, then its conversation's timeline", async () => {
    await page.goto(`${base}/console/sign-in`);
    await page.fill("textarea[name=credential]", await operatorToken("olga"));
    await page.click("button[type=submit]");
    await page.locator(".card").first().waitFor();
    expect(await page.textContent(".who")).toBe("olga");

    await page.goto(`${base}/console/events`);
    await page.selectOption("select[name=target]", "messages");
    await page.click("#tail button[type=submit]");
    await page.getByText(`Listening on ${prefix}${TOPICS.messages.events}`).waitFor({ timeout: 20_000 });

    const alice = await tokenFor("alice");
    const created = await fetch(`${base}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: ["bob"], name: "Console" }),
    });
    conversationId = ((await created.json()) as { id: string }).id;
    socket = connectSocket(base, { token: alice });
    const channel = socket.channel(`chat:${conversationId}`);
    await joinChannel(channel);
    const content = `hello operators ${randomBytes(3).toString("hex")}`;
    expect((await pushTo(channel, "message:send", { content })).status).toBe("ok");

    const row = page.locator("#events tbody tr", { hasText: content });
    await row.waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain("MessageSent");
    await shot("live-events");

    await row.getByRole("link", { name: conversationId }).click();
    const timeline = page.locator("#timeline tbody tr");
    await timeline.nth(1).waitFor();
    expect(await timeline.count()).toBe(2);
    expect(await timeline.nth(0).textContent()).toContain("ConversationCreated");
    expect(await timeline.nth(1).textContent()).toContain("MessageSent");
    for (const index of [0, 1]) expect(await timeline.nth(index).locator("td.id").textContent()).toMatch(/^[0-9a-f-]{36}$/);
    const lastSeq = async () => (JSON.parse((await page.textContent("#state"))!) as { lastSeq: number }).lastSeq;
    expect(await lastSeq()).toBe(1);
    // Time travel: the state at the creation has no message yet.
    await timeline.nth(0).getByRole("button", { name: "State here" }).click();
    await page.getByText("State at event #1 (ConversationCreated").waitFor();
    expect(await lastSeq()).toBe(0);
    await shot("timeline");

    await page.goto(`${base}/console`);
    await page.locator("section.metric", { hasText: "quikchat_command_reply_seconds" }).waitFor();
    await shot("overview");
  });

  it("replays a dead letter only once the operator confirms it", async () => {
    // Poisoned as the operator tools' test does: keyed by another conversation than it names, so it is misrouted.
    const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix });
    const logger = testLogger();
    const { codec } = await bootstrapContract(config, logger);
    const producer = new RecordProducer(config.kafka, codec, logger);
    const poison = new MessageCommands(prefix + TOPICS.messages.commands, null).send(conversationId, "alice", "poison");
    await producer.send([{ ...poison, key: `${conversationId}-elsewhere` }]);
    await producer.close();

    await page.goto(`${base}/console/dead-letters?context=messages`);
    const letters = page.locator("#letters tbody tr", { hasText: "misrouted" });
    await expect.poll(async () => {
      await page.click("#dlq button[type=submit]");
      await page.waitForTimeout(500);
      return letters.count();
    }, { timeout: 30_000, interval: 1_000 }).toBe(1);

    // Without the confirmation the API only asks for one.
    const asked = await page.evaluate(async () => (await fetch("/console/api/dead-letters/messages/0:0/replay", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ confirmation: "1.forged" }) })).status);
    expect(asked).toBe(409);

    await letters.first().getByRole("button", { name: "Replay…" }).click();
    await page.locator("#confirm").getByText("Replay dead letter 0:0 of messages").waitFor();
    await shot("replay-confirmation");
    await page.click("#confirm-yes");
    await page.getByText(`replayed 0:0 to ${prefix}${TOPICS.messages.commands}`).waitFor({ timeout: 20_000 });
    // The replayed command is misrouted again: it comes back once, naming the dead letter it replays.
    await page.locator("#letters tbody tr", { hasText: `${prefix}${TOPICS.messages.dlq}:0:0` }).waitFor({ timeout: 30_000 });
    expect(await letters.count()).toBe(2);
    await shot("dead-letters");
  });

  it("rebuilds a projection only on a confirmation, and refuses while a projector runs it", async () => {
    const rebuild = (body: object) =>
      page.evaluate(async (posted) => {
        const response = await fetch("/console/api/projections/history/rebuild", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(posted) });
        return { status: response.status, body: (await response.json()) as { message: string; confirmation?: string } };
      }, body);
    const asked = await rebuild({});
    expect(asked).toMatchObject({ status: 409, body: { message: expect.stringContaining("Rebuild the history projection?") as unknown } });
    // This service runs its projectors: the confirmed rebuild is refused, as `quikchat projections rebuild` is.
    expect(await rebuild({ confirmation: asked.body.confirmation })).toMatchObject({ status: 400, body: { message: expect.stringContaining("the history projection is running") as unknown } });
  });
});
