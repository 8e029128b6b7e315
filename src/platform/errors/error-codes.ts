/**
 * The one vocabulary of refusals: the `reason` of an error reply on a channel, the HTTP status
 * and title of a REST error, and whether the same request may succeed later. Domain rejections,
 * the socket layer's own refusals and failures to reach the processors all use these codes.
 * They are part of the client contract: a code is added here, never renamed. Anything not
 * in the registry is answered `internal`, and its message never reaches the client.
 *
 * Keep refusals apart from disconnects (`disconnect-reasons.ts`): a refusal answers one frame or
 * request and keeps the socket.
 */
export const ERROR_CODES = {
  /** The request breaks a rule of its payload or of the domain (`message` says which). */
  invalid: { status: 400, temporary: false, title: "Bad Request" },
  /** A frame readable enough to answer but not a valid Phoenix message (`detail` says why). */
  invalid_message: { status: 400, temporary: false, title: "Bad Request" },
  /** A topic with an empty id, such as `chat:`, or one too long to keep (over 200 characters). */
  invalid_topic: { status: 400, temporary: false, title: "Bad Request" },
  /** A client event the joined topic does not know. */
  unknown_event: { status: 400, temporary: false, title: "Bad Request" },
  /** Not the caller's to see or do: a bad token, or a topic of someone else. */
  unauthorized: { status: 401, temporary: false, title: "Unauthorized" },
  /** The caller is part of it but may not do this. */
  forbidden: { status: 403, temporary: false, title: "Forbidden" },
  /** No such thing, or not the caller's: existence is not revealed. */
  not_found: { status: 404, temporary: false, title: "Not Found" },
  /** The caller is not part of the conversation, call or huddle. */
  not_a_member: { status: 404, temporary: false, title: "Not Found" },
  /** The caller, or the user a call's signal is for, is neither a participant nor a ringing callee of the call; or the caller is not in the huddle. */
  not_a_participant: { status: 404, temporary: false, title: "Not Found" },
  /** A join of a topic no channel family serves, or a push to a topic not joined (Phoenix's wording). */
  "unmatched topic": { status: 404, temporary: false, title: "Not Found" },
  /** The request contradicts the current state (e.g. creating what exists). */
  conflict: { status: 409, temporary: false, title: "Conflict" },
  /** The huddle already holds `HUDDLE_MAX_PARTICIPANTS` participants: try again once someone leaves. */
  huddle_full: { status: 409, temporary: true, title: "Conflict" },
  /** The channel already holds its `maxSubscribers` joined sockets: try again later. */
  channel_full: { status: 409, temporary: true, title: "Conflict" },
  /** An upload that does not say its length (`Content-Length`). */
  length_required: { status: 411, temporary: false, title: "Length Required" },
  /** A frame larger than the configured limit (`max_bytes`), or an upload larger than the store takes. */
  payload_too_large: { status: 413, temporary: false, title: "Payload Too Large" },
  /** A binary push: handlers take JSON objects only. */
  binary_unsupported: { status: 415, temporary: false, title: "Unsupported Media Type" },
  /** The socket already has the most joined channels it may (Phoenix's wording). */
  "too many channels": { status: 429, temporary: false, title: "Too Many Requests" },
  /** The connection already views the most topics it may (`comments:…`, 100): leave one first. */
  too_many_topics: { status: 429, temporary: false, title: "Too Many Requests" },
  /** A per-user budget is spent; `retry_after_ms` (or `Retry-After`) says when to retry. */
  rate_limited: { status: 429, temporary: true, title: "Too Many Requests" },
  /** The feature is not served by this process. */
  not_available: { status: 501, temporary: false, title: "Not Implemented" },
  /** Too many frames of this socket wait to be handled. */
  overloaded: { status: 503, temporary: true, title: "Service Unavailable" },
  /** The gateway is shutting down: retry once reconnected (the socket closes with 1012 shortly). */
  shutting_down: { status: 503, temporary: true, title: "Service Unavailable" },
  /** The processor did not answer in time: retry (a retried command is not applied twice). */
  timeout: { status: 503, temporary: true, title: "Service Unavailable" },
  /** Kafka or another dependency could not be reached: retry. */
  unavailable: { status: 503, temporary: true, title: "Service Unavailable" },
  /** A fault of the service; details are logged, never sent. */
  internal: { status: 500, temporary: true, title: "Internal Server Error" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** An error with a stable code, safe to show to the client (an `internal` one shows a fixed message). */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ServiceError";
  }

  /** What the client may read: the message, except for internal faults. */
  get publicMessage(): string {
    return this.code === "internal" ? "internal error" : this.message;
  }
}

/**
 * The refusal a processor answered (`{code, message}`), as a ServiceError: a code outside the
 * registry becomes `internal`.
 */
export function rejection(error: { readonly code: string; readonly message: string }): ServiceError {
  return isErrorCode(error.code) ? new ServiceError(error.code, error.message) : new ServiceError("internal", error.message);
}
