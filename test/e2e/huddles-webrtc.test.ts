import type { Socket } from "phoenix";
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrives, listen, received, type Listening } from "../support/channel-inbox.js";
import { connectSocket, joinChannel, pushTo, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";
import { relayPeer, type IceServer } from "../support/webrtc-peer.js";

const SIGNALS = ["webrtc:offer", "webrtc:answer", "webrtc:ice-candidate"];

/**
 * Two real WebRTC peers (werift) inside one huddle, connected relay-only through the local
 * stack's coturn (credentials from `/api/signaling/ice-config`), exchanging their offer, answer
 * and candidates over nothing but `huddle:{huddleId}`: a data channel then carries a message.
 * Signals go to their recipient only; one addressed to a member who has not joined the huddle is
 * refused, and so is one into the huddle from outside it.
 */
describe("a huddle between two real WebRTC peers, relayed by the local coturn", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];
  const peers: RTCPeerConnection[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("huddles-webrtc"));
  }, 150_000);

  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function connect(user: string): Promise<Socket> {
    const socket = connectSocket(base, { token: await tokenFor(user, "w1") });
    sockets.push(socket);
    return socket;
  }

  async function api(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Payload }> {
    const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(user, "w1")}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Payload };
  }

  it(
    "connects two participants through coturn over the huddle's signaling only; nobody else hears or sends a signal",
    async () => {
      const created = await api("alice", "POST", "/api/conversations", { type: "group", members: ["bob", "carol"], name: "Pairing" });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const conversationId = String(created.body.id);
      const aliceSocket = await connect("alice");
      const chat = await listen(aliceSocket, `chat:${conversationId}`, []);
      const started = await pushTo(chat.channel, "huddle:create", {});
      expect(started.status, JSON.stringify(started.response)).toBe("ok");
      const huddleId = String(started.response.huddleId);
      const topic = `huddle:${huddleId}`;

      const alice = await listen(aliceSocket, topic, [...SIGNALS, "huddle:participant:joined"]);
      const bob = await listen(await connect("bob"), topic, SIGNALS);
      const carolSocket = await connect("carol");
      await arrives(alice.inbox, "huddle:participant:joined", { userId: "bob" });

      // carol is a member of the conversation but not in the huddle: no signal goes to her.
      const carolAlone = await pushTo(alice.channel, "webrtc:offer", { to: "carol", sdp: "v=0\r\n" });
      expect(carolAlone).toMatchObject({ status: "error", response: { reason: "not_a_participant" } });
      // A signal to oneself, and one naming another huddle than the topic's, are invalid.
      expect((await pushTo(alice.channel, "webrtc:offer", { to: "alice", sdp: "v=0\r\n" })).response).toMatchObject({ reason: "invalid" });
      expect((await pushTo(alice.channel, "webrtc:offer", { huddleId: "another", to: "bob", sdp: "v=0\r\n" })).response).toMatchObject({ reason: "invalid" });
      // dave, outside the conversation, cannot join the huddle's topic to signal in it, nor reach it through the calls' lobby.
      const daveSocket = await connect("dave");
      const daveJoin = await new Promise<Payload>((resolve) => daveSocket.channel(topic, {}).join().receive("error", resolve).receive("ok", resolve));
      expect(daveJoin).toEqual({ reason: "unauthorized" });
      const daveLobby = daveSocket.channel("webrtc:lobby", {});
      const daveHeard: string[] = [];
      for (const event of SIGNALS) daveLobby.on(event, () => void daveHeard.push(event));
      await joinChannel(daveLobby);
      expect((await pushTo(daveLobby, "webrtc:offer", { callId: huddleId, to: "alice", sdp: "v=0\r\n" })).response).toMatchObject({ reason: "not_found" });

      const iceOf = async (user: string) => {
        const ice = await api(user, "GET", "/api/signaling/ice-config");
        expect(ice.status, JSON.stringify(ice.body)).toBe(200);
        return ice.body.iceServers as IceServer[];
      };
      const caller = relayPeer(await iceOf("alice"), alice.channel, { field: "huddleId", id: huddleId }, "bob", peers);
      const callee = relayPeer(await iceOf("bob"), bob.channel, { field: "huddleId", id: huddleId }, "alice", peers);
      const chatChannel: RTCDataChannel = caller.connection.createDataChannel("chat");
      const opened = new Promise<void>((resolve) => chatChannel.stateChanged.subscribe((state) => state === "open" && resolve()));
      const message = new Promise<string>((resolve) =>
        callee.connection.onDataChannel.subscribe((channel) => channel.onMessage.subscribe((data) => resolve(data.toString()))),
      );

      await caller.connection.setLocalDescription(await caller.connection.createOffer());
      await caller.describe("webrtc:offer");
      const offer = await arrives(bob.inbox, "webrtc:offer", { huddleId });
      expect(offer).toMatchObject({ huddleId, from: "alice" });
      await callee.remoteDescription("offer", String(offer.sdp));
      await callee.connection.setLocalDescription(await callee.connection.createAnswer());
      await callee.describe("webrtc:answer");
      const answer = await arrives(alice.inbox, "webrtc:answer", { huddleId });
      expect(answer).toMatchObject({ huddleId, from: "bob" });
      await caller.remoteDescription("answer", String(answer.sdp));

      await opened;
      chatChannel.send("hello through the huddle's relay");
      expect(await message).toBe("hello through the huddle's relay");
      // Relay-only: every candidate either side used was one coturn allocated.
      for (const side of [caller, callee]) {
        expect(side.gathered.length).toBeGreaterThan(0);
        expect(side.gathered.every((candidate) => / typ relay/.test(candidate))).toBe(true);
      }
      // Each signal went to its recipient only: none came back to its sender.
      expect(received(alice.inbox, "webrtc:offer")).toEqual([]);
      expect(received(bob.inbox, "webrtc:answer")).toEqual([]);
      expect(received(bob.inbox, "webrtc:ice-candidate").every(({ payload }) => payload.from === "alice")).toBe(true);

      // carol joins now: she hears none of the signals exchanged between alice and bob, and bob's leave makes him unreachable.
      const carol: Listening = await listen(carolSocket, topic, SIGNALS);
      expect((await pushTo(bob.channel, "huddle:leave", {})).status).toBe("ok");
      await eventually(
        async () => {
          const refused = await pushTo(alice.channel, "webrtc:offer", { to: "bob", sdp: "v=0\r\n" });
          return refused.status === "error" ? refused : undefined;
        },
        10_000,
        "a signal to bob refused once he left",
      ).then((refused) => expect(refused.response).toMatchObject({ reason: "not_a_participant" }));
      expect(carol.inbox).toEqual([]);
      expect(daveHeard).toEqual([]);
    },
    120_000,
  );
});
