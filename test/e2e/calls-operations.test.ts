import { randomUUID } from "node:crypto";
import type { Channel, Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolKit } from "../../src/cli/command-bus-tool.js";
import { withKafkaTools } from "../../src/cli/kafka-tools.js";
import { formatTrace, traceCorrelation, type Trace } from "../../src/cli/trace.js";
import { metaOf, typeOf } from "../../src/cli/topic-reader.js";
import { createRedis } from "../../src/infra/redis/redis-connection.js";
import type { StartRecording, StopRecording } from "../../src/platform/contract/generated/avro-types.js";
import { arrives, listen, LOBBY_EVENTS, type Inbox } from "../support/call-inbox.js";
import { connectSocket, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually, testConfig, testLogger, uniquePrefix } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";

const RINGING_MS = 4_000;
const WORKSPACE = "w-ops";
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host";
const VIDEO = { type: "video" };
const AUDIO = { type: "audio" };

/**
 * The value of the series `name` in `/metrics` with (at least) `labels`, or undefined when there is
 * none (every series also carries the process's `node` label).
 */
async function metric(base: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const line of text.split("\n")) {
    const series = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (series?.[1] !== name) continue;
    const has = Object.fromEntries([...(series[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    if (Object.entries(labels).every(([key, value]) => has[key] === value)) return Number(series[3]);
  }
  return undefined;
}

/** `/health` `stats`. */
async function stats(base: string): Promise<Record<string, number>> {
  return ((await (await fetch(`${base}/health`)).json()) as { stats: Record<string, number> }).stats;
}

/** Polls until the series reads `value`. */
async function metricBecomes(base: string, name: string, value: number | undefined, labels: Readonly<Record<string, string>> = {}): Promise<void> {
  await eventually(async () => ((await metric(base, name, labels)) === value ? true : undefined), 20_000, `${name}${JSON.stringify(labels)} = ${value} at ${base}`);
}

async function activeCallsBecome(base: string, count: number): Promise<void> {
  await metricBecomes(base, "calls_active_total", count);
  await eventually(async () => ((await stats(base)).active_calls === count ? true : undefined), 10_000, `/health active_calls = ${count} at ${base}`);
}

/**
 * The calls as an operator sees them: `calls_active_total`, `calls_recording_active_total` and
 * `/health` `active_calls` read from the live-calls read model (the same on every gateway, right
 * after a restart), `calls_duration_seconds{type}` observed once per answered call, and the whole
 * of a call — its commands, events, timers and signals — traced by its callId. Starts a second
 * gateway and restarts the service: runs alone.
 */
describe("calls, operated", () => {
  const prefix = uniquePrefix("calls-ops");
  const env = { KAFKA_TOPIC_PREFIX: prefix, CALL_RINGING_TIMEOUT_MS: String(RINGING_MS) };
  const config = testConfig(env);
  const services: ServiceProcess[] = [];
  const sockets: Socket[] = [];
  let base: string;

  async function start(label: string, args?: readonly string[]): Promise<string> {
    const started = await startService(label, env, args);
    services.push(started.service);
    return started.base;
  }

  /** A device of `user` on the gateway at `at`: its lobby. */
  async function device(user: string, at: string): Promise<{ socket: Socket; lobby: { channel: Channel; inbox: Inbox } }> {
    const socket = connectSocket(at, { token: await tokenFor(user, WORKSPACE) });
    sockets.push(socket);
    return { socket, lobby: await listen(socket, "webrtc:lobby", LOBBY_EVENTS) };
  }

  async function push(channel: Channel, event: string, payload: Payload): Promise<Payload> {
    const answer = await pushTo(channel, event, payload);
    expect(answer.status, `${event}: ${JSON.stringify(answer.response)}`).toBe("ok");
    return answer.response;
  }

  const trace = (callId: string): Promise<Trace> => withKafkaTools(config, (tools) => traceCorrelation(tools, callId));

  let alice: Awaited<ReturnType<typeof device>>;
  let bob: Awaited<ReturnType<typeof device>>;

  beforeAll(async () => {
    base = await start("calls-ops");
    alice = await device("alice", base);
    bob = await device("bob", base);
    // Callees are found in the caller's workspace through presence: wait until it shows them.
    const presence = await watchPresence(alice.socket, WORKSPACE);
    await eventually(async () => (["alice", "bob"].every((user) => presence.users().has(user)) ? true : undefined), 20_000, "presence of alice and bob");
  }, 180_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const service of services) service.child.kill("SIGTERM");
    await Promise.all(services.map((service) => service.exited));
  });

  let videoCallId: string;

  it("counts a call live from its ringing to its end, its recording while it runs, and its duration once", async () => {
    await activeCallsBecome(base, 0);
    expect(await metric(base, "calls_recording_active_total")).toBe(0);

    videoCallId = String((await push(alice.lobby.channel, "call:initiate", { calleeId: "bob", type: "video" })).callId);
    await arrives(bob.lobby.inbox, "call:incoming", { callId: videoCallId });
    await activeCallsBecome(base, 1);

    await push(alice.lobby.channel, "webrtc:offer", { callId: videoCallId, to: "bob", sdp: SDP });
    expect(await arrives(bob.lobby.inbox, "webrtc:offer", { callId: videoCallId })).toEqual({ callId: videoCallId, from: "alice", sdp: SDP });
    await push(bob.lobby.channel, "call:answer", { callId: videoCallId });
    await arrives(alice.lobby.inbox, "call:answered", { callId: videoCallId });
    await push(bob.lobby.channel, "webrtc:answer", { callId: videoCallId, to: "alice", sdp: SDP });
    await arrives(alice.lobby.inbox, "webrtc:answer", { callId: videoCallId });
    await push(alice.lobby.channel, "webrtc:ice-candidate", { callId: videoCallId, to: "bob", candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0 });
    await arrives(bob.lobby.inbox, "webrtc:ice-candidate", { callId: videoCallId });
    await activeCallsBecome(base, 1);

    // Recording has no client action yet: a tool's command bus sends what the gateway will.
    const recordingId = randomUUID();
    const recording = (type: "StartRecording" | "StopRecording") =>
      toolKit(() => config).withCommandBus((bus) => {
        const command: StartRecording & StopRecording = { meta: bus.meta({ userId: "alice", workspaceId: WORKSPACE }), callId: videoCallId, recordingId };
        return bus.request("calls", type, videoCallId, command);
      });
    await recording("StartRecording");
    await metricBecomes(base, "calls_recording_active_total", 1);
    await recording("StopRecording");
    await metricBecomes(base, "calls_recording_active_total", 0);

    // Answered over a second before it ends: its duration is at least that.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await push(alice.lobby.channel, "call:end", { callId: videoCallId });
    const ended = await arrives(bob.lobby.inbox, "call:ended", { callId: videoCallId });
    await activeCallsBecome(base, 0);
    await metricBecomes(base, "calls_duration_seconds_count", 1, VIDEO);
    const seconds = (await metric(base, "calls_duration_seconds_sum", VIDEO))!;
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeCloseTo(Number(ended.durationMs) / 1_000, 3);
    expect(await metric(base, "calls_duration_seconds_bucket", { ...VIDEO, le: "1" })).toBe(0);
    expect(await metric(base, "calls_duration_seconds_bucket", { ...VIDEO, le: "7200" })).toBe(1);
  });

  it("traces the whole call by its callId: every command, event and signal, in order", async () => {
    const { records, outcomes } = await eventually(async () => {
      const found = await trace(videoCallId);
      return found.records.some((record) => typeOf(record) === "CallEnded") ? found : undefined;
    }, 20_000, "the call's end in its trace");
    const types = records.map((record) => typeOf(record));
    const order = ["CallStarted", "OfferRelayed", "CallAnswered", "AnswerRelayed", "IceCandidateRelayed", "RecordingStarted", "RecordingStopped", "CallEnded"];
    expect(types.filter((type) => order.includes(type!))).toEqual(order);
    expect(types).toEqual(expect.arrayContaining(["InitiateCall", "SendOffer", "AnswerCall", "SendAnswer", "SendIceCandidate", "StartRecording", "StopRecording", "EndCall"]));
    expect(new Set(records.map((record) => metaOf(record)?.correlationId))).toEqual(new Set([videoCallId]));
    // Signals are dispatched without an answer, yet each is accepted and relayed once.
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(outcomes.map(() => "accepted"));
    const text = formatTrace({ correlationId: videoCallId, records, outcomes }, prefix);
    expect(text).toMatch(/CallStarted[\s\S]*OfferRelayed[\s\S]*CallAnswered[\s\S]*CallEnded/);
    expect(text).toContain(`${prefix}quikapp.signaling.events`);
  });

  it("ends an unanswered call by its ringing timer under the same correlation id, with no duration observed", async () => {
    const callId = String((await push(alice.lobby.channel, "call:initiate", { calleeId: "bob", type: "audio" })).callId);
    await activeCallsBecome(base, 1);
    expect(await arrives(alice.lobby.inbox, "call:ended", { callId })).toMatchObject({ reason: "no_answer" });
    await activeCallsBecome(base, 0);
    const { records } = await eventually(async () => {
      const found = await trace(callId);
      return found.records.some((record) => typeOf(record) === "CallEnded") ? found : undefined;
    }, 20_000, "the unanswered call's end in its trace");
    const timed = ["InitiateCall", "CallStarted", "ExpireRinging", "CallEnded"];
    expect(records.map((record) => typeOf(record)).filter((type) => timed.includes(type!))).toEqual(timed);
    expect(new Set(records.map((record) => metaOf(record)?.correlationId))).toEqual(new Set([callId]));
    expect(await metric(base, "calls_duration_seconds_count", AUDIO)).toBeUndefined();
  });

  it("reports the same live calls on another gateway, and after the read model is rebuilt on a restart, without observing an old call again", async () => {
    const gateway = await start("calls-ops-gateway", ["start", "--role", "gateway"]);
    const alice2 = await device("alice", gateway);
    const bob2 = await device("bob", gateway);
    const callId = String((await push(alice2.lobby.channel, "call:initiate", { calleeId: "bob", type: "audio" })).callId);
    await arrives(bob2.lobby.inbox, "call:incoming", { callId });
    await push(bob2.lobby.channel, "call:answer", { callId });
    await arrives(alice2.lobby.inbox, "call:answered", { callId });
    await activeCallsBecome(gateway, 1);
    await activeCallsBecome(base, 1);

    // The read model lost, then the service restarted: its projection replays every call from the
    // beginning, catching up, and counts again what is live without observing the ended call.
    const first = services[0]!;
    first.child.kill("SIGTERM");
    await first.exited;
    const redis = createRedis(config.redis.url, testLogger(), { name: "calls-ops-test" });
    try {
      const keys = await redis.keys(`${prefix}calls:*`);
      expect(keys).toContain(`${prefix}calls:live`);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await activeCallsBecome(gateway, 0);
    base = await start("calls-ops-restarted");
    await activeCallsBecome(base, 1);
    await activeCallsBecome(gateway, 1);
    expect(await metric(base, "calls_duration_seconds_count", VIDEO)).toBeUndefined();

    await push(alice2.lobby.channel, "call:end", { callId });
    await arrives(bob2.lobby.inbox, "call:ended", { callId });
    await activeCallsBecome(gateway, 0);
    await activeCallsBecome(base, 0);
    await metricBecomes(base, "calls_duration_seconds_count", 1, AUDIO);
    expect(await metric(base, "calls_duration_seconds_count", VIDEO)).toBeUndefined();
  }, 240_000);
});
