import type { ErrorCode } from "../errors/error-codes.js";

/**
 * The contract between the Phoenix socket layer (frames, joins, heartbeats, limits) and the
 * channel handlers of each topic family (`chat:*`, `user:*`, …). The socket layer owns the
 * protocol; a handler owns authorization and the meaning of events.
 */

/** Who is on the other end of a socket, from the verified JWT. */
export interface SocketIdentity {
  readonly userId: string;
  readonly workspaceId: string;
  /** Unique per socket; also the presence connection id. */
  readonly connectionId: string;
  /** Seconds since the epoch when the socket's token expires; later once the token is refreshed (`access_token`) or the connection extended. */
  readonly tokenExpiresAt: number;
}

/**
 * A reply to a join or a push: Phoenix sends it as `phx_reply {status, response}`; an error's
 * reason is a code of the error registry. An ok reply to a push may say the push was `free`:
 * it cost the server nothing (folded into an earlier one), so the socket gives back what the
 * per-user rate limits charged for it. `free` is never sent to the client.
 */
export type ChannelReply =
  | { readonly status: "ok"; readonly response: Record<string, unknown>; readonly free?: boolean }
  | { readonly status: "error"; readonly response: { readonly reason: ErrorCode } & Record<string, unknown> };

/** What a joined channel can do to its client. */
export interface ChannelOutlet {
  /** Sends `[null, null, topic, event, payload]` (or the V1 object form) to this socket. */
  push(event: string, payload: Record<string, unknown>): void;
  /** Ends this channel from the server side: the client receives `phx_close` (e.g. membership revoked). */
  close(reason: string): void;
}

/** One joined topic of one socket. */
export interface JoinedChannel {
  /** Handles a client push on this topic; the socket layer sends the reply with the push's ref. */
  handleIn(event: string, payload: Record<string, unknown>): Promise<ChannelReply>;
  /** Called once when the channel ends for any reason (leave, rejoin, close, socket gone). */
  leave(): Promise<void>;
}

export type JoinResult =
  | { readonly status: "ok"; readonly response: Record<string, unknown>; readonly channel: JoinedChannel }
  | { readonly status: "error"; readonly response: { readonly reason: ErrorCode } & Record<string, unknown> };

/** Handles every topic of one family, e.g. `chat:` + conversation id. */
export interface ChannelFamily {
  /** The topic prefix including its colon, e.g. `"chat:"`, or a whole topic such as `"webrtc:lobby"`. */
  readonly prefix: string;
  /**
   * Authorizes and performs a join of `topic` (which starts with `prefix`). Refusals are
   * `{status: "error", response: {reason}}`; nothing is sent to the client before it resolves.
   */
  join(topic: string, params: Record<string, unknown>, identity: SocketIdentity, outlet: ChannelOutlet): Promise<JoinResult>;
}
