/**
 * The stable error codes of the service. Each maps to the reason a client sees in a channel
 * reply, an HTTP status, and whether retrying the same request may succeed later. Domain
 * codes come from the processors' outcomes; anything unknown becomes `internal`, and its
 * message never reaches the client.
 */
export const ERROR_CODES = {
  invalid: { status: 400, temporary: false, error: "Bad Request" },
  unauthorized: { status: 401, temporary: false, error: "Unauthorized" },
  forbidden: { status: 403, temporary: false, error: "Forbidden" },
  not_found: { status: 404, temporary: false, error: "Not Found" },
  not_a_member: { status: 404, temporary: false, error: "Not Found" },
  conflict: { status: 409, temporary: false, error: "Conflict" },
  rate_limited: { status: 429, temporary: true, error: "Too Many Requests" },
  timeout: { status: 503, temporary: true, error: "Service Unavailable" },
  unavailable: { status: 503, temporary: true, error: "Service Unavailable" },
  internal: { status: 500, temporary: true, error: "Internal Server Error" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** An error with a stable code, safe to show to the client. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ServiceError";
  }
}
