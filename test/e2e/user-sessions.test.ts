import { randomBytes, randomUUID } from "node:crypto";
import avro from "avsc";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { Presence, type Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, joinChannel, pushTo, watchPresence } from "../support/phoenix-client.js";
import { freePort, runCli, startService, type ServiceProcess } from "../support/service-process.js";
import { eventually, testConfig, uniquePrefix } from "../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor, tokenIssuedAgo } from "../support/tokens.js";


/**
 * A user's connections end to end, on two gateway processes (one running every role, one only a
 * gateway) of one deployment: in-band token refresh, a server-side refresh, disconnecting a
 * user everywhere with its tokens revoked, driven by the `quikchat users` command, and the
 * upstream user service's events, produced as that service would.
 */
describe("user sessions, end to end", () => {
  const run = randomBytes(3).toString("hex");
  const workspace = `w-${run}`;
  const env = {
    KAFKA_TOPIC_PREFIX: uniquePrefix("sessions"),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "warn",
    RATE_LIMIT_JOINS_PER_MIN: "100000",
    RATE_LIMIT_EVENTS_PER_MIN: "100000",
    RATE_LIMIT_TOTAL_PER_MIN: "100000",
  };
  const services: ServiceProcess[] = [];
  const sockets: Socket[] = [];
  let gatewayA = "";
  let gatewayB = "";

  /** The server API of the all-roles process: channels a deleted user must leave are made there. */
  const apiKey = `sessions-test-key-${run}-0123456789`;
  const serverApi = async (method: string, params: object) => {
    const response = await fetch(`${gatewayA}/api/server/${method}`, { method: "POST", headers: { "x-api-key": apiKey, "content-type": "application/json" }, body: JSON.stringify(params) });
    return (await response.json()) as { result?: Record<string, unknown> };
  };

  beforeAll(async () => {
    const all = await startService("sessions", { ...env, SERVER_API_KEYS: apiKey, GRPC_PORT: String(await freePort()) });
    services.push(all.service);
    gatewayA = all.base;
    const gateway = await startService("sessions", env, ["start", "--role", "gateway"]);
    services.push(gateway.service);
    gatewayB = gateway.base;
  }, 240_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const service of services) service.child.kill("SIGKILL");
    await Promise.all(services.map((service) => service.exited));
  });

  /** A stock client of `token` on `base` that does not come back by itself during the test, with its close codes. */
  async function connect(base: string, token: string): Promise<{ socket: Socket; closes: number[]; opened: Promise<void> }> {
    const socket = connectSocket(base, { token }, { reconnectAfterMs: () => 60_000 });
    sockets.push(socket);
    const closes: number[] = [];
    socket.onClose((event: { code: number }) => void closes.push(event.code));
    const opened = new Promise<void>((resolve) => socket.onOpen(() => resolve()));
    return { socket, closes, opened };
  }

  async function joined(base: string, user: string, token: string) {
    const connection = await connect(base, token);
    const channel = connection.socket.channel(`user:${user}`);
    await joinChannel(channel);
    return { ...connection, channel };
  }

  const quikchat = async (...args: string[]) => {
    const tool = runCli(args, env);
    const code = await tool.exited;
    return { code, output: tool.output() };
  };

  /** A record of the upstream topic, as the user service produces it: Avro with the registry's schema, in the Confluent wire format, keyed by user id. */
  async function upstreamValue(record: string, value: Record<string, unknown>): Promise<Buffer> {
    const { registry } = testConfig();
    const subject = `${env.KAFKA_TOPIC_PREFIX}quikapp.users.events-quikchat.users.${record}`;
    const latest = (await (await fetch(`${registry.url}/subjects/${encodeURIComponent(subject)}/versions/latest`)).json()) as { id: number; schema: string };
    const header = Buffer.alloc(5);
    header.writeInt32BE(latest.id, 1);
    return Buffer.concat([header, avro.Type.forSchema(JSON.parse(latest.schema) as avro.Schema).toBuffer(value)]);
  }

  async function produceUpstream(messages: { key: string; value: Buffer }[]): Promise<void> {
    const kafka = new Kafka({ clientId: `upstream-${run}`, brokers: [...testConfig().kafka.brokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic: `${env.KAFKA_TOPIC_PREFIX}quikapp.users.events`, messages });
    } finally {
      await producer.disconnect();
    }
  }

  const restStatus = async (base: string, token: string) => (await fetch(`${base}/api/presence/online`, { headers: { authorization: `Bearer ${token}` } })).status;

  it("keeps a socket that refreshes its token in band past the first token's expiry, and closes one that does not with 4001", async () => {
    const refresher = `refresher-${run}`;
    const idle = `idle-${run}`;
    const [refreshing, waiting] = await Promise.all([
      joined(gatewayA, refresher, await tokenFor(refresher, workspace, 4)),
      joined(gatewayA, idle, await tokenFor(idle, workspace, 4)),
    ]);

    // Refusals first: the socket keeps its token.
    const foreign = await pushTo(refreshing.channel, "access_token", { access_token: await tokenFor(idle, workspace, 60) });
    expect(foreign).toEqual({ status: "error", response: { reason: "unauthorized", message: "the token is for another user" } });
    const earlier = await pushTo(refreshing.channel, "access_token", { access_token: await tokenFor(refresher, workspace, 2) });
    expect(earlier).toMatchObject({ status: "error", response: { reason: "unauthorized", message: expect.stringMatching(/expire later/) } });
    const forged = await pushTo(refreshing.channel, "access_token", { access_token: await tokenFor(refresher, workspace, 60, "another-secret-of-at-least-32-characters") });
    expect(forged).toMatchObject({ status: "error", response: { reason: "unauthorized" } });

    const accepted = await pushTo(refreshing.channel, "access_token", { access_token: await tokenFor(refresher, workspace, 60) });
    expect(accepted).toMatchObject({ status: "ok", response: { expires_at: expect.any(Number) } });

    await eventually(async () => (waiting.closes.includes(4001) ? true : undefined), 10_000, "the idle socket closed with 4001");
    // Both first tokens expired at the same second: the refreshed socket would have closed by now.
    expect(refreshing.closes).toEqual([]);
    expect(await pushTo(refreshing.channel, "set_status", { status: "away" })).toMatchObject({ status: "ok" });
    expect(refreshing.closes).toEqual([]);
  }, 30_000);

  it("disconnects a user on both gateways and refuses its old token, while a newly issued one is accepted", async () => {
    const user = `dora-${run}`;
    const old = await tokenIssuedAgo(user, workspace);
    const [onA, onB] = await Promise.all([joined(gatewayA, user, old), joined(gatewayB, user, old)]);

    const disconnected = await quikchat("users", "disconnect", user, "--revoke-tokens", "--workspace", workspace);
    expect(disconnected.code, disconnected.output).toBe(0);
    expect(disconnected.output).toMatch(new RegExp(`${user}: disconnected on every gateway; its tokens issued before .* are refused`));
    await eventually(async () => (onA.closes.includes(4003) && onB.closes.includes(4003) ? true : undefined), 10_000, "both sockets closed with 4003");

    expect(await restStatus(gatewayB, old)).toBe(401);
    expect(await restStatus(gatewayA, old)).toBe(401);
    const fresh = await tokenFor(user, workspace);
    expect(await restStatus(gatewayB, fresh)).toBe(200);
    const back = await joined(gatewayB, user, fresh);
    expect(back.closes).toEqual([]);
    // A refresh cannot bring the old token back either.
    expect(await pushTo(back.channel, "access_token", { access_token: await tokenIssuedAgo(user, workspace, 10) })).toMatchObject({
      status: "error",
      response: { reason: "unauthorized", message: "the token has been revoked" },
    });
  }, 60_000);

  it("takes a user deleted upstream offline and out of its conversations and channels, refuses its tokens, and dead-letters an undecodable record", async () => {
    const gone = `gone-${run}`;
    const stays = `stays-${run}`;
    const staysToken = await tokenFor(stays, workspace);
    const created = await fetch(`${gatewayA}/api/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${staysToken}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "group", members: [gone], title: "doomed" }),
    });
    expect(created.status).toBe(201);
    const { id: conversationId } = (await created.json()) as { id: string };
    const channel = await serverApi("create_channel", { workspace_id: workspace, name: "doomed", type: "TEAM", subscribers: [gone, stays] });
    const channelId = String(channel.result?.channel);
    const watcher = await watchPresence((await connect(gatewayA, staysToken)).socket, workspace);
    const goneToken = await tokenFor(gone, workspace);
    const socket = await joined(gatewayB, gone, goneToken);
    await eventually(async () => (watcher.users().has(gone) ? true : undefined), 15_000, "the user online");

    const meta = { eventId: randomUUID(), occurredAt: Date.now(), correlationId: randomUUID(), causationId: null, actorId: "user-service", workspaceId: workspace };
    await produceUpstream([
      { key: gone, value: Buffer.from("not an Avro record") },
      { key: gone, value: await upstreamValue("UserDeleted", { meta, userId: gone }) },
    ]);

    await eventually(async () => (socket.closes.includes(1000) ? true : undefined), 20_000, "the socket closed with 1000");
    await eventually(async () => (watcher.users().has(gone) ? undefined : true), 15_000, "the user offline");
    await eventually(
      async () => {
        const conversation = (await (await fetch(`${gatewayA}/api/conversations/${conversationId}`, { headers: { authorization: `Bearer ${staysToken}` } })).json()) as {
          members: { userId: string }[];
        };
        return conversation.members.some((member) => member.userId === gone) ? undefined : conversation.members.map((member) => member.userId);
      },
      15_000,
      "the user out of the conversation",
    );
    await eventually(
      async () => ((await serverApi("list_channels", { workspace_id: workspace })).result?.channels as { channel: string; num_subscribers: number }[]).find((c) => c.channel === channelId)?.num_subscribers === 1 || undefined,
      15_000,
      "the user out of the channel",
    );
    // Every token of a deleted user is refused, however new.
    expect(await restStatus(gatewayA, goneToken)).toBe(401);
    expect(await restStatus(gatewayB, await tokenFor(gone, workspace))).toBe(401);

    const admin = new Kafka({ clientId: `dlq-${run}`, brokers: [...testConfig().kafka.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(`${env.KAFKA_TOPIC_PREFIX}quikapp.users.dlq`);
      expect(offsets.reduce((sum, { high }) => sum + Number(high), 0)).toBe(1);
    } finally {
      await admin.disconnect();
    }
    expect(services.every((service) => service.child.exitCode === null)).toBe(true);
  }, 60_000);

  it("shows an upstream user_updated's display name and avatar in the user's presence metas", async () => {
    const named = `named-${run}`;
    const viewer = await connect(gatewayA, await tokenFor(`viewer-${run}`, workspace));
    const channel = viewer.socket.channel(`presence:${workspace}`);
    const presence = new Presence(channel);
    await joinChannel(channel);
    await joined(gatewayB, named, await tokenFor(named, workspace));
    const metasOf = () => presence.list((id: string, { metas }: { metas: Record<string, unknown>[] }) => ({ id, metas })).find((entry) => entry.id === named)?.metas;
    await eventually(async () => metasOf()?.length, 15_000, "the user online");

    const meta = { eventId: randomUUID(), occurredAt: Date.now(), correlationId: randomUUID(), causationId: null, actorId: "user-service", workspaceId: workspace };
    const profile = { userId: named, displayName: "Nadia N.", username: null, email: null, avatarUrl: "https://img.example/n.png", timezone: null };
    await produceUpstream([{ key: named, value: await upstreamValue("UserUpdated", { meta, ...profile }) }]);
    const shown = await eventually(async () => metasOf()?.find((entry) => entry.display_name === "Nadia N."), 15_000, "the new name in the metas");
    expect(shown).toMatchObject({ display_name: "Nadia N.", avatar_url: "https://img.example/n.png", phx_ref_prev: expect.any(String) });
    expect(metasOf()).toHaveLength(1);
  }, 60_000);

  it("ends a user's connections at the instant a server-side refresh gives them", async () => {
    const user = `eve-${run}`;
    const onB = await joined(gatewayB, user, await tokenFor(user, workspace));
    const refreshed = await quikchat("users", "refresh", user, "--until", "1s", "--workspace", workspace);
    expect(refreshed.code, refreshed.output).toBe(0);
    await eventually(async () => (onB.closes.includes(4001) ? true : undefined), 10_000, "the socket closed with 4001");
  }, 60_000);
});
