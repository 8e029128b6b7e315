/**
 * A short name for why a request got no answer, for a `retry_later` reason: the system's code
 * (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`) found along the error's causes (fetch and
 * HTTP/2 wrap it), `timeout` for an aborted wait, the message otherwise.
 */
export function networkFailure(error: unknown): string {
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth += 1) {
    if (at.name === "TimeoutError") return "timeout";
    const code = (at as NodeJS.ErrnoException).code;
    // Node's own wrappers carry a code of their own: the cause's is the one that says why.
    if (typeof code === "string" && !(at.cause instanceof Error)) return code;
  }
  return error instanceof Error ? error.message : String(error);
}
