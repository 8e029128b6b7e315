import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RoleCluster } from "../support/roles.js";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "../support/tokens.js";

/**
 * A REST write the processor accepts while no projector runs: the membership read model cannot
 * show it, so the answer says where to look (202 and Location) instead of a made-up body, and
 * the conversation appears there once a projector catches up.
 */
describe("conversation writes while the read model is behind", () => {
  const run = randomBytes(3).toString("hex");
  const alice = `alice-${run}`;
  const cluster = new RoleCluster({ KAFKA_TOPIC_PREFIX: uniquePrefix("behind"), JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn" });
  let base = "";

  beforeAll(async () => {
    const gateway = await cluster.ready(await cluster.start("gateway", `gateway-${run}`));
    await cluster.ready(await cluster.start("processor", `processor-${run}`));
    base = gateway.base;
  }, 150_000);

  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${await tokenFor(alice)}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, location: response.headers.get("location"), body: (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined };
  };

  it("answers 202 with the conversation's Location, then shows it there once a projector runs", async () => {
    const created = await api("POST", "/api/conversations", { type: "group", members: [`bob-${run}`], name: "Behind" });
    expect(created.status).toBe(202);
    const id = created.body?.id as string;
    expect(created.body).toEqual({ id, status: "pending" });
    expect(created.location).toBe(`/api/conversations/${id}`);

    const added = await api("POST", `/api/conversations/${id}/members`, { userId: `carol-${run}` });
    expect([added.status, added.body]).toEqual([202, { id, status: "pending" }]);
    expect((await api("GET", created.location!)).status).toBe(404);

    await cluster.ready(await cluster.start("projector", `projector-${run}`));
    const shown = await eventually(async () => {
      const found = await api("GET", created.location!);
      return found.status === 200 ? found.body : undefined;
    }, 60_000, "the conversation in the read model");
    expect(shown).toMatchObject({ id, type: "group", title: "Behind", createdBy: alice });
    expect((shown?.members as { userId: string }[]).map((member) => member.userId).sort()).toEqual([alice, `bob-${run}`, `carol-${run}`].sort());
  }, 120_000);
});
