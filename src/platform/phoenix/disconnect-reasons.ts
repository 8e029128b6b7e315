/**
 * Why the server closes a socket, and the WebSocket close code it uses. Every code but
 * `userDeleted`'s is one the stock `phoenix` client reconnects after: clients before 1.8
 * reconnect after any code but 1000 (`onConnClose`: `!closeWasClean && code !== 1000`), 1.8
 * after any close it did not start itself. 1000 is used only for the one deliberate end, a
 * deleted user: older clients stop there, and 1.8 clients are refused (401) when they try,
 * since every token of a deleted user is revoked.
 * Compare `error-codes.ts`, whose refusals answer one frame and keep the socket.
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
  /** An operator or a backend disconnected the user everywhere: reconnect (refused while its tokens are revoked). */
  disconnected: { code: 4003, reason: "disconnected by the server" },
  /** The user's account was deleted: do not come back. */
  userDeleted: { code: 1000, reason: "user deleted" },
  /** Nothing received for the idle timeout: no heartbeat, presumably a dead client. */
  heartbeatTimeout: { code: 4002, reason: "heartbeat timeout" },
  /** An unexpected server fault on this socket. */
  internal: { code: 1011, reason: "internal error" },
} as const;

export type DisconnectReason = keyof typeof DISCONNECT_REASONS;
