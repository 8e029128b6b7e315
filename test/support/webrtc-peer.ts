import type { Channel } from "phoenix";
import { RTCPeerConnection, type RTCIceCandidate } from "werift";
import { expect } from "vitest";
import { pushTo, type Payload } from "./phoenix-client.js";

/** One entry of the `iceServers` the service hands out. */
export interface IceServer {
  readonly urls: readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** The room a peer's signals name: a call (`callId`) or a huddle (`huddleId`). */
export interface SignalRoomOf {
  readonly field: "callId" | "huddleId";
  readonly id: string;
}

/** A real WebRTC peer (werift) that signals over a stock phoenix channel. */
export interface RelayPeer {
  readonly connection: RTCPeerConnection;
  /** Every local candidate it gathered (a bad TURN secret gathers none, silently). */
  readonly gathered: string[];
  /** Sends the local description as `event`, then the candidates gathered meanwhile. */
  describe(event: "webrtc:offer" | "webrtc:answer"): Promise<void>;
  /** Sets the remote description, then adds the remote candidates that came before it. */
  remoteDescription(type: "offer" | "answer", sdp: string): Promise<void>;
}

/**
 * A relay-only peer of the user of `channel` (the TURN server over UDP from `iceServers`: werift
 * takes one), whose offer or answer and candidates go to `to` in `room` as `webrtc:` pushes on
 * `channel`, each answered `ok`; the remote candidates for `room` arriving on `channel` wait for
 * the remote description. `peers` keeps it, for the test to close.
 */
export function relayPeer(iceServers: readonly IceServer[], channel: Channel, room: SignalRoomOf, to: string, peers: RTCPeerConnection[]): RelayPeer {
  const turn = iceServers.find((server) => server.username !== undefined)!;
  const url = turn.urls.find((uri) => uri.endsWith("transport=udp"))!;
  const connection = new RTCPeerConnection({ iceServers: [{ urls: url, username: turn.username!, credential: turn.credential! }], iceTransportPolicy: "relay" });
  peers.push(connection);
  const gathered: string[] = [];
  let described = false;
  const pending: RTCIceCandidate[] = [];
  const push = async (event: string, payload: Payload) => {
    const answer = await pushTo(channel, event, { [room.field]: room.id, to, ...payload });
    expect(answer.status, JSON.stringify(answer.response)).toBe("ok");
  };
  const send = (candidate: RTCIceCandidate) => push("webrtc:ice-candidate", { candidate: candidate.toJSON() });
  connection.onIceCandidate.subscribe((candidate) => {
    if (candidate === undefined) return;
    gathered.push(candidate.candidate);
    if (described) void send(candidate);
    else pending.push(candidate);
  });
  let remote = false;
  const early: Payload[] = [];
  const addCandidate = (payload: Payload) => {
    const init = { candidate: String(payload.candidate), sdpMid: payload.sdpMid as string, sdpMLineIndex: payload.sdpMLineIndex as number };
    if (remote) void connection.addIceCandidate(init);
    else early.push(payload);
  };
  channel.on("webrtc:ice-candidate", (payload: Payload) => {
    if (payload[room.field] === room.id) addCandidate(payload);
  });
  return {
    connection,
    gathered,
    async describe(event) {
      await push(event, { sdp: connection.localDescription!.sdp });
      described = true;
      for (const candidate of pending.splice(0)) await send(candidate);
    },
    async remoteDescription(type, sdp) {
      await connection.setRemoteDescription({ type, sdp });
      remote = true;
      for (const payload of early.splice(0)) addCandidate(payload);
    },
  };
}
