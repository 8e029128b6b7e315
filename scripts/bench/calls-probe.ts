/**
 * Call setup and signaling latency, forked by the benchmark, with the stock `phoenix` client (as
 * an app would use it): pairs of users, each caller on one gateway and its callee on another,
 * both on `webrtc:lobby`. One call at a time, round robin over the pairs:
 *
 * 1. the caller pushes `call:initiate` → the callee's lobby gets `call:incoming` (InitiateCall →
 *    calls processor → CallStarted → live-calls projection → Redis → the callee's gateway);
 * 2. the callee pushes `call:answer` → the caller's lobby gets `call:answered`;
 * 3. the caller pushes `webrtc:offer` → the callee's lobby gets it (SendOffer on the signaling
 *    topic → processor → OfferRelayed → signal relay → the callee's gateway);
 * 4. the caller hangs up, and the next call starts once the callee has heard `call:ended`.
 *
 * Each latency is from the moment before the push to the event's arrival at the other party.
 */
import { Presence, Socket, type Channel } from "phoenix";
import { WebSocket } from "ws";
import { token } from "../bench-support.js";
import { serveWorker } from "./processes.js";
import { epochMs, summarize, type Summary } from "./stats.js";
import { sleep } from "../../src/platform/sleep.js";

type Payload = Record<string, unknown>;

export interface CallsArgs {
  /** The Phoenix socket endpoints (`ws://host:port/socket/websocket`) of the callers' and of the callees' gateway. */
  readonly callerSocketUrl: string;
  readonly calleeSocketUrl: string;
  readonly workspace: string;
  readonly pairs: number;
  readonly calls: number;
  /** Calls made first and not counted (group assignments, caches, JIT). */
  readonly warmUp: number;
}

export interface CallsResult {
  readonly initiateToIncomingMs: Summary;
  readonly answerToAnsweredMs: Summary;
  readonly offerToCalleeMs: Summary;
  /** Pushes refused or events that did not arrive within 10 s. */
  readonly missed: number;
}

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const WAIT_MS = 10_000;

/** The lobby of one user: pushes, and the first arrival of each (event, callId). */
class Lobby {
  private readonly arrivals = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();

  private constructor(
    readonly socket: Socket,
    readonly channel: Channel,
  ) {}

  static async open(socketUrl: string, user: string, workspace: string): Promise<Lobby> {
    const socket = new Socket(socketUrl.replace(/\/websocket$/, ""), { transport: WebSocket, params: { token: await token(user, workspace) } });
    socket.connect();
    const channel = socket.channel("webrtc:lobby", {});
    const lobby = new Lobby(socket, channel);
    for (const event of ["call:incoming", "call:answered", "call:ended", "webrtc:offer"]) {
      channel.on(event, (payload: Payload) => lobby.arrived(event, String(payload.callId), epochMs()));
    }
    await new Promise<void>((resolve, reject) =>
      channel
        .join()
        .receive("ok", () => resolve())
        .receive("error", (response: Payload) => reject(new Error(`webrtc:lobby refused ${user}: ${JSON.stringify(response)}`)))
        .receive("timeout", () => reject(new Error(`webrtc:lobby join of ${user} timed out`))),
    );
    return lobby;
  }

  private arrived(event: string, callId: string, at: number): void {
    const key = `${event}:${callId}`;
    if (this.arrivals.has(key)) return;
    this.arrivals.set(key, at);
    this.waiters.get(key)?.(at);
  }

  /** When `event` of `callId` arrived (NaN when not within 10 s). */
  async arrival(event: string, callId: string): Promise<number> {
    const key = `${event}:${callId}`;
    const seen = this.arrivals.get(key);
    if (seen !== undefined) return seen;
    const at = new Promise<number>((resolve) => this.waiters.set(key, resolve));
    return Promise.race([at, sleep(WAIT_MS).then(() => NaN)]).finally(() => this.waiters.delete(key));
  }

  /** Pushes `event`; resolves with the reply's response, rejects with a refusal or a timeout. */
  push(event: string, payload: Payload): Promise<Payload> {
    return new Promise((resolve, reject) =>
      this.channel
        .push(event, payload, WAIT_MS)
        .receive("ok", (response: Payload) => resolve(response))
        .receive("error", (response: Payload) => reject(new Error(`${event}: ${JSON.stringify(response)}`)))
        .receive("timeout", () => reject(new Error(`${event}: no reply within ${WAIT_MS} ms`))),
    );
  }
}

/** Waits until `presence:<workspace>` lists every one of `users` (callees are found in the caller's workspace through presence). */
async function everyoneOnline(socket: Socket, workspace: string, users: readonly string[]): Promise<void> {
  const channel = socket.channel(`presence:${workspace}`, {});
  const presence = new Presence(channel);
  channel.join();
  const deadline = Date.now() + 30_000;
  while (!users.every((user) => presence.list((id: string) => id).includes(user))) {
    if (Date.now() > deadline) throw new Error(`presence did not show the ${users.length} bench users within 30 s`);
    await sleep(100);
  }
  channel.leave();
}

async function measure(args: CallsArgs): Promise<CallsResult> {
  const pairs = await Promise.all(
    Array.from({ length: args.pairs }, async (_, i) => ({
      callee: `callee-${i}`,
      caller: await Lobby.open(args.callerSocketUrl, `caller-${i}`, args.workspace),
      calleeLobby: await Lobby.open(args.calleeSocketUrl, `callee-${i}`, args.workspace),
    })),
  );
  const ring: number[] = [];
  const answer: number[] = [];
  const offer: number[] = [];
  let missed = 0;
  try {
    await everyoneOnline(pairs[0]!.caller.socket, args.workspace, pairs.flatMap((pair, i) => [pair.callee, `caller-${i}`]));
    for (let i = 0; i < args.calls + args.warmUp; i += 1) {
      const { caller, callee, calleeLobby } = pairs[i % pairs.length]!;
      let callId: string | undefined;
      try {
        const initiated = epochMs();
        ({ callId } = (await caller.push("call:initiate", { calleeId: callee, type: "audio" })) as { callId: string });
        const incoming = await calleeLobby.arrival("call:incoming", callId);
        const answered = epochMs();
        await calleeLobby.push("call:answer", { callId });
        const heard = await caller.arrival("call:answered", callId);
        const offered = epochMs();
        await caller.push("webrtc:offer", { callId, to: callee, sdp: SDP });
        const relayed = await calleeLobby.arrival("webrtc:offer", callId);
        await caller.push("call:end", { callId });
        if (Number.isNaN(await calleeLobby.arrival("call:ended", callId))) throw new Error(`call:ended of ${callId} did not arrive`);
        if (i < args.warmUp) continue;
        ring.push(incoming - initiated);
        answer.push(heard - answered);
        offer.push(relayed - offered);
      } catch {
        // A call left live would make its callee busy for the next ones.
        if (callId !== undefined) await caller.push("call:end", { callId }).catch(() => undefined);
        missed += 1;
        if (missed === 5) throw new Error(`5 calls failed (call ${i + 1})`);
      }
    }
  } finally {
    for (const { caller, calleeLobby } of pairs) {
      caller.socket.disconnect();
      calleeLobby.socket.disconnect();
    }
  }
  const counted = (values: number[]) => {
    missed += values.filter(Number.isNaN).length;
    return Float64Array.from(values.filter((value) => !Number.isNaN(value)));
  };
  return { initiateToIncomingMs: summarize([counted(ring)]), answerToAnsweredMs: summarize([counted(answer)]), offerToCalleeMs: summarize([counted(offer)]), missed };
}

const api = { measure };

export type CallsProbeApi = typeof api;

serveWorker(api);
