/**
 * Why the server closes a socket, and the WebSocket close code it uses. Every code is one the
 * stock `phoenix` client reconnects after: clients before 1.8 reconnect after any code but 1000
 * (`onConnClose`: `!closeWasClean && code !== 1000`), 1.8 after any close it did not start
 * itself. 1000 is never used, so a server-side close is never mistaken for a deliberate end.
 * Compare `reply-errors.ts`, which refuse one frame and keep the socket.
 */
export const DISCONNECT_REASONS = {
  /** Graceful shutdown or restart of this process: reconnect (to another gateway). */
  shutdown: { code: 1012, reason: "service restart" },
  /** The client did not read fast enough: its outbound buffer passed the limit. */
  slowConsumer: { code: 1013, reason: "slow consumer" },
  /** Too many undecodable frames in a row. */
  protocolViolation: { code: 1008, reason: "protocol violation" },
  /** A frame above the transport's hard size cap (ws closes with this code itself). */
  frameTooLarge: { code: 1009, reason: "frame too large" },
  /** The token's `exp` passed: reconnect with a fresh token (the client re-reads `params`). */
  tokenExpired: { code: 4001, reason: "token expired" },
  /** Nothing received for the idle timeout: no heartbeat, presumably a dead client. */
  heartbeatTimeout: { code: 4002, reason: "heartbeat timeout" },
  /** An unexpected server fault on this socket. */
  internal: { code: 1011, reason: "internal error" },
} as const;

export type DisconnectReason = keyof typeof DISCONNECT_REASONS;
