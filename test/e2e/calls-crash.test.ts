import { randomBytes } from "node:crypto";
import type { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, joinChannel, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { RoleCluster, type RoleProcess } from "../support/roles.js";
import { eventually, uniquePrefix } from "../support/test-config.js";
import { TEST_JWT_SECRET, tokenFor } from "../support/tokens.js";
import { sleep } from "../../src/platform/sleep.js";

const RINGING_MS = 20_000;
const MAX_DURATION_MS = 30_000;
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

/**
 * A call and its timers across a kill -9 of the calls processor: the call is restored from the
 * changelog by the restarted processor, which schedules its timers again; each timer then fires
 * once (a ringing call ends `no_answer`, an active one `max_duration`), and signals still flow.
 */
describe("calls across a kill -9 of the processor (roles as separate processes)", () => {
  const run = randomBytes(3).toString("hex");
  const cluster = new RoleCluster({
    KAFKA_TOPIC_PREFIX: uniquePrefix("calls-crash"),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "info",
    CALL_RINGING_TIMEOUT_MS: String(RINGING_MS),
    CALL_MAX_DURATION_MS: String(MAX_DURATION_MS),
  });
  const sockets: Socket[] = [];
  let base: string;
  let processor: RoleProcess;

  beforeAll(async () => {
    // The gateway first: it bootstraps the topics and schemas.
    const gateway = await cluster.ready(await cluster.start("gateway", `gateway-${run}`));
    const started = await Promise.all([cluster.start("processor", `processor-${run}`), cluster.start("projector", `projector-${run}`)]);
    await Promise.all(started.map((role) => cluster.ready(role)));
    processor = started[0];
    base = gateway.base;
  }, 150_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await cluster.stopAll();
  }, 30_000);

  async function lobby(user: string) {
    const socket = connectSocket(base, { token: await tokenFor(user, "w1") });
    sockets.push(socket);
    const channel = socket.channel("webrtc:lobby", {});
    const inbox: { event: string; payload: Payload }[] = [];
    for (const event of ["call:incoming", "call:answered", "call:rejected", "call:ended", "webrtc:offer"]) channel.on(event, (payload: Payload) => void inbox.push({ event, payload }));
    await joinChannel(channel);
    const of = (event: string, callId: string) => inbox.filter((item) => item.event === event && item.payload.callId === callId).map((item) => item.payload);
    return { socket, channel, of };
  }

  it(
    "keeps ringing and active calls, and fires each of their timers once, after the processor is killed and restarted",
    async () => {
      const [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map((user) => lobby(`${user}-${run}`)));
      const presence = await watchPresence(alice!.socket, "w1");
      await eventually(async () => (["bob", "carol"].every((user) => presence.users().has(`${user}-${run}`)) ? true : undefined), 60_000, "presence of the callees");

      const initiate = async (caller: typeof alice, callee: string) => {
        const answer = await pushTo(caller!.channel, "call:initiate", { calleeId: `${callee}-${run}`, type: "audio" });
        expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
        return String(answer.response.callId);
      };
      const active = await initiate(alice, "bob");
      expect((await pushTo(bob!.channel, "call:answer", { callId: active })).status).toBe("ok");
      const ringing = await initiate(dave, "carol");
      await eventually(async () => (carol!.of("call:incoming", ringing).length > 0 ? true : undefined), 15_000, "carol's call to ring");
      const answeredAt = Date.now();

      await cluster.kill(processor);
      await sleep(2_000);
      processor = await cluster.ready(await cluster.start("processor", processor.nodeName));

      // The active call survived: a signal between its parties is still decided and relayed.
      await eventually(
        async () => ((await pushTo(alice!.channel, "webrtc:offer", { callId: active, to: `bob-${run}`, sdp: SDP })).status === "ok" ? true : undefined),
        30_000,
        "a signal after the restart",
      );
      await eventually(async () => (bob!.of("webrtc:offer", active).length > 0 ? true : undefined), 30_000, "the signal to reach bob");

      await eventually(async () => (carol!.of("call:ended", ringing).length > 0 ? true : undefined), RINGING_MS + 30_000, "the ringing timeout");
      expect(carol!.of("call:ended", ringing)).toEqual([{ callId: ringing, reason: "no_answer", endedBy: null, durationMs: 0 }]);
      await eventually(async () => (alice!.of("call:ended", active).length > 0 ? true : undefined), MAX_DURATION_MS + 30_000, "the maximum duration");
      expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(MAX_DURATION_MS - 5_000);
      expect(alice!.of("call:ended", active)).toEqual([{ callId: active, reason: "max_duration", endedBy: null, durationMs: expect.any(Number) }]);

      await sleep(3_000);
      expect(dave!.of("call:ended", ringing)).toHaveLength(1);
      expect(dave!.of("call:rejected", ringing)).toEqual([{ callId: ringing, userId: `carol-${run}`, reason: "no_answer" }]);
      expect(bob!.of("call:ended", active)).toHaveLength(1);
    },
    180_000,
  );
});
