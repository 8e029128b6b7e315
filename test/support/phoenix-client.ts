import { Presence, Socket, type Channel, type SocketConnectOption } from "phoenix";
import { WebSocket } from "ws";
import { tokenFor } from "./tokens.js";

export type Payload = Record<string, unknown>;

/**
 * A stock phoenix client socket to the service at `base` (its `http://` or `ws://` address),
 * already connecting. Node 20 has no global WebSocket: the client gets the `ws` package's.
 */
export function connectSocket(base: string, params: Payload | (() => Payload), options: Partial<SocketConnectOption> = {}): Socket {
  const socket = new Socket(`${base.replace(/^http/, "ws")}/socket`, { transport: WebSocket, params, ...options });
  socket.connect();
  return socket;
}

/** A push's answer: the reply's status and response, or `timeout` when none came in time. */
export interface PushAnswer {
  readonly status: "ok" | "error" | "timeout";
  readonly response: Payload;
}

/** Joins `channel` with the stock client; resolves with the join reply, rejects with the refusal as the message. */
export function joinChannel(channel: Channel): Promise<Payload> {
  return new Promise((resolve, reject) =>
    channel
      .join()
      .receive("ok", (response: Payload) => resolve(response))
      .receive("error", (response: Payload) => reject(new Error(JSON.stringify(response)))),
  );
}

/** Pushes `event` and resolves with its answer, whatever it is. */
export function pushTo(channel: Channel, event: string, payload: Payload, timeoutMs = 20_000): Promise<PushAnswer> {
  return new Promise((resolve) =>
    channel
      .push(event, payload, timeoutMs)
      .receive("ok", (response: Payload) => resolve({ status: "ok", response }))
      .receive("error", (response: Payload) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout", response: {} })),
  );
}

/**
 * A stock client socket of `user` in `workspace` on the gateway listening on `port`, connecting.
 * After a drop it tries again only a minute later: a test that kills a gateway says itself where
 * that gateway's clients go.
 */
export async function openSocket(port: number, user: string, workspace: string): Promise<Socket> {
  return connectSocket(`ws://127.0.0.1:${port}`, { token: await tokenFor(user, workspace) }, { reconnectAfterMs: () => 60_000 });
}

/** Joins `presence:<workspace>` on `socket` with the stock client's `Presence`; `users` are the users it lists. */
export async function watchPresence(socket: Socket, workspace: string): Promise<{ users(): Set<string> }> {
  return watchTopicPresence(socket, `presence:${workspace}`);
}

/** Joins `topic` (`presence:…`, `comments:…`) on `socket` with the stock client's `Presence`; `users` are the users it lists. */
export async function watchTopicPresence(socket: Socket, topic: string): Promise<{ users(): Set<string> }> {
  const channel = socket.channel(topic);
  const presence = new Presence(channel);
  await joinChannel(channel);
  return { users: () => new Set(presence.list((id: string) => id)) };
}
