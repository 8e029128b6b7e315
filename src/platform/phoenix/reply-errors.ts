/**
 * Reasons of the error replies the socket layer itself sends (`phx_reply` with
 * `{status: "error", response: {reason, …}}`). A reply error refuses one frame; the socket and
 * its other channels stay. Compare `disconnect-reasons.ts`, which close the socket.
 */
export const REPLY_REASONS = {
  /** Join of a topic no channel family serves, or a push to a topic not joined (or to an earlier join). Phoenix's wording. */
  unmatchedTopic: "unmatched topic",
  /** The socket already has the maximum number of joined channels. */
  tooManyChannels: "too many channels",
  /** A per-user rate limit refused the event; `retry_after_ms` says when to try again. */
  rateLimited: "rate_limited",
  /** The frame was readable enough to answer but not valid (`detail` says why). */
  invalidMessage: "invalid_message",
  /** The frame is larger than the configured limit (`max_bytes`). */
  payloadTooLarge: "payload_too_large",
  /** A binary (ArrayBuffer) push: handlers take JSON objects only. */
  binaryUnsupported: "binary_unsupported",
  /** Too many frames of this socket are still waiting to be handled. */
  overloaded: "overloaded",
  /** The gateway is shutting down: retry once reconnected (the socket closes with 1012 shortly). */
  shuttingDown: "shutting_down",
  /** A handler failed; details are logged, never sent. */
  internal: "internal",
} as const;

export type ReplyReason = (typeof REPLY_REASONS)[keyof typeof REPLY_REASONS];
