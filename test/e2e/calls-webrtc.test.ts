import type { Channel, Socket } from "phoenix";
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, joinChannel, pushTo, watchPresence, type Payload } from "../support/phoenix-client.js";
import { startService, type ServiceProcess } from "../support/service-process.js";
import { eventually } from "../support/test-config.js";
import { tokenFor } from "../support/tokens.js";
import { relayPeer, type IceServer } from "../support/webrtc-peer.js";

/**
 * Two real WebRTC peers (werift) in one call, connected relay-only through the local stack's
 * coturn with the credentials of `call:initiate` and `call:answer`, exchanging their offer,
 * answer and candidates over nothing but the service's signaling; a data channel then carries a
 * message from one to the other.
 */
describe("a call between two real WebRTC peers, relayed by the local coturn", () => {
  let service: ServiceProcess;
  let base: string;
  const sockets: Socket[] = [];
  const peers: RTCPeerConnection[] = [];

  beforeAll(async () => {
    ({ service, base } = await startService("calls-webrtc"));
  }, 150_000);

  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    for (const socket of sockets) socket.disconnect();
    service.child.kill("SIGTERM");
    await service.exited;
  });

  async function lobby(user: string): Promise<{ socket: Socket; channel: Channel }> {
    const socket = connectSocket(base, { token: await tokenFor(user, "w1") });
    sockets.push(socket);
    const channel = socket.channel("webrtc:lobby", {});
    await joinChannel(channel);
    return { socket, channel };
  }

  it(
    "connects the two peers through coturn over the service's signaling, and a data channel carries a message",
    async () => {
      const alice = await lobby("alice");
      const bob = await lobby("bob");
      const presence = await watchPresence(alice.socket, "w1");
      await eventually(async () => (presence.users().has("bob") ? true : undefined), 20_000, "bob's presence");

      const incoming = new Promise<Payload>((resolve) => bob.channel.on("call:incoming", resolve));
      const offered = new Promise<Payload>((resolve) => bob.channel.on("webrtc:offer", resolve));
      const answered = new Promise<Payload>((resolve) => alice.channel.on("webrtc:answer", resolve));
      const initiated = await pushTo(alice.channel, "call:initiate", { calleeId: "bob", type: "audio" });
      expect(initiated.status, JSON.stringify(initiated.response)).toBe("ok");
      const callId = String(initiated.response.callId);
      expect((await incoming).callId).toBe(callId);
      const accepted = await pushTo(bob.channel, "call:answer", { callId });
      expect(accepted.status, JSON.stringify(accepted.response)).toBe("ok");

      const caller = relayPeer(initiated.response.iceServers as IceServer[], alice.channel, { field: "callId", id: callId }, "bob", peers);
      const callee = relayPeer(accepted.response.iceServers as IceServer[], bob.channel, { field: "callId", id: callId }, "alice", peers);
      const chat: RTCDataChannel = caller.connection.createDataChannel("chat");
      const opened = new Promise<void>((resolve) => chat.stateChanged.subscribe((state) => state === "open" && resolve()));
      const message = new Promise<string>((resolve) =>
        callee.connection.onDataChannel.subscribe((channel) => channel.onMessage.subscribe((data) => resolve(data.toString()))),
      );

      await caller.connection.setLocalDescription(await caller.connection.createOffer());
      await caller.describe("webrtc:offer");
      const offer = await offered;
      expect(offer).toMatchObject({ callId, from: "alice" });
      await callee.remoteDescription("offer", String(offer.sdp));
      await callee.connection.setLocalDescription(await callee.connection.createAnswer());
      await callee.describe("webrtc:answer");
      const answer = await answered;
      expect(answer).toMatchObject({ callId, from: "bob" });
      await caller.remoteDescription("answer", String(answer.sdp));

      await opened;
      chat.send("hello through the relay");
      expect(await message).toBe("hello through the relay");
      // Relay-only: every candidate either side used was one coturn allocated.
      for (const side of [caller, callee]) {
        expect(side.gathered.length).toBeGreaterThan(0);
        expect(side.gathered.every((candidate) => / typ relay/.test(candidate))).toBe(true);
      }
    },
    90_000,
  );
});
