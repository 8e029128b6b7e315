import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type Running } from "../../../../src/cli/start.js";
import { calls } from "../../../../src/contexts/calls/module.js";
import { turnCredentials } from "../../../../src/contexts/calls/turn-credentials.js";
import { LOCAL_COTURN, coturnSecret } from "../../../../src/infra/stack/stack.js";
import { freePort } from "../../../support/service-process.js";
import { testConfig, testLogger, uniquePrefix } from "../../../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "../../../support/tokens.js";

/**
 * Allocates a relay on the local stack's coturn with these credentials, over UDP or TCP, and
 * sends 5 messages through it to a peer of its own (`-y`; `-c`: no RTCP pair, which halves the
 * run); resolves with turnutils_uclient's exit code.
 */
function relayThroughStackCoturn(username: string, credential: string, transport: "udp" | "tcp" = "udp"): Promise<{ code: number; output: string }> {
  const args = ["-y", "-c", "-n", "5", ...(transport === "tcp" ? ["-t"] : []), "-p", String(LOCAL_COTURN.port), "-u", username, "-w", credential, LOCAL_COTURN.host];
  return new Promise((resolve) => {
    execFile("turnutils_uclient", args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}`.slice(-2_000) });
    });
  });
}

const STACK_TURN_URIS = [`turn:127.0.0.1:${LOCAL_COTURN.port}?transport=udp`, `turn:127.0.0.1:${LOCAL_COTURN.port}?transport=tcp`];

/** The gateways below use no topic, but start makes the contract's: once, for both. */
const prefix = uniquePrefix("turn");

/** A gateway of the calls context only, started as `quikchat start --role gateway` starts one. */
async function gateway(env: Record<string, string>): Promise<{ running: Running; base: string }> {
  const port = await freePort();
  const config = testConfig({ KAFKA_TOPIC_PREFIX: prefix, PORT: String(port), HOST: "127.0.0.1", JWT_SECRET: TEST_JWT_SECRET, ...env });
  return { running: await start(config, testLogger(), "gateway", [calls]), base: `http://127.0.0.1:${port}` };
}

describe("TURN credentials on the local stack, with nothing configured", () => {
  let service: { running: Running; base: string } | undefined;
  let base = "";
  let stackSecret = "";
  const userId = "turn-user";

  beforeAll(async () => {
    // QUIKCHAT_STACK=auto, as in every test: the gateway brings up (or reuses) the stack's coturn and reads its secret.
    service = await gateway({});
    base = service.base;
    stackSecret = await coturnSecret(testConfig().stack.dir, LOCAL_COTURN.port);
  }, 120_000);

  afterAll(async () => {
    await service?.running.shutdown("test over");
  });

  const post = async (path: string, token?: string) =>
    fetch(`${base}${path}`, { method: "POST", headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const get = async (path: string, token?: string) => fetch(`${base}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it("hands out credentials that the stack's coturn accepts for a relay", async () => {
    const response = await post("/api/signaling/turn-credentials", await tokenFor(userId));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { username: string; credential: string; password: string; ttl: number; uris: string[] };
    expect(body).toMatchObject({ ttl: 86_400, uris: STACK_TURN_URIS });
    expect(body.password).toBe(body.credential);
    const [expiry, owner] = body.username.split(":");
    expect(owner).toBe(userId);
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(86_400 - 60);
    const [udp, tcp] = await Promise.all([relayThroughStackCoturn(body.username, body.credential, "udp"), relayThroughStackCoturn(body.username, body.credential, "tcp")]);
    expect(udp.code, udp.output).toBe(0);
    expect(tcp.code, tcp.output).toBe(0);
  });

  it("is refused by coturn when signed with another secret, or once expired", async () => {
    const forged = turnCredentials("not-the-stack-secret", userId, Date.now(), 3_600);
    const expired = turnCredentials(stackSecret, userId, Date.now() - 120_000, 60);
    const [withForged, withExpired] = await Promise.all([relayThroughStackCoturn(forged.username, forged.credential), relayThroughStackCoturn(expired.username, expired.credential)]);
    expect(withForged.code, withForged.output).not.toBe(0);
    expect(withExpired.code, withExpired.output).not.toBe(0);
  });

  it("lists the stack's STUN, then its TURN URIs with the caller's credentials, in an ICE configuration", async () => {
    const response = await get("/api/signaling/ice-config", await tokenFor(userId));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { iceServers: { urls: string[]; username?: string; credential?: string }[]; ttl: number };
    expect(body.ttl).toBe(86_400);
    expect(body.iceServers).toEqual([
      { urls: [`stun:127.0.0.1:${LOCAL_COTURN.port}`] },
      { urls: STACK_TURN_URIS, username: expect.stringMatching(new RegExp(`^\\d+:${userId}$`)), credential: expect.any(String) },
    ]);
    const turn = body.iceServers[1]!;
    const expiry = Number(turn.username!.split(":")[0]);
    expect(turn.credential).toBe(turnCredentials(stackSecret, userId, (expiry - 86_400) * 1000, 86_400).credential);
  });

  it("answers 401 without a valid token", async () => {
    expect((await get("/api/signaling/ice-config")).status).toBe(401);
    expect((await post("/api/signaling/turn-credentials")).status).toBe(401);
    expect((await post("/api/signaling/turn-credentials", "not-a-jwt")).status).toBe(401);
  });
});

describe("a gateway in production with no TURN server configured", () => {
  let service: { running: Running; base: string } | undefined;

  beforeAll(async () => {
    service = await gateway({ NODE_ENV: "production", QUIKCHAT_STACK: "off", STUN_SERVERS: "stun:127.0.0.1:3480" });
  }, 120_000);

  afterAll(async () => {
    await service?.running.shutdown("test over");
  });

  it("lists only the STUN servers and refuses TURN credentials, making none up", async () => {
    const token = await tokenFor("no-turn-user");
    const ice = await fetch(`${service!.base}/api/signaling/ice-config`, { headers: { authorization: `Bearer ${token}` } });
    expect(await ice.json()).toEqual({ iceServers: [{ urls: ["stun:127.0.0.1:3480"] }], ttl: 86_400 });
    const turn = await fetch(`${service!.base}/api/signaling/turn-credentials`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(turn.status).toBe(501);
    expect(await turn.json()).toEqual({ statusCode: 501, error: "Not Implemented", message: "no TURN server is configured (TURN_SERVERS)" });
  });
});
