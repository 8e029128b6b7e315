import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CODES, ServiceError, type ErrorCode } from "../errors/error-codes.js";
import type { ActionRateLimiter } from "../phoenix/action-rate-limiter.js";

/** The caller of a REST request, from `Authorization: Bearer <jwt>`; throws `ServiceError("unauthorized")`. */
export type Authenticate = (request: FastifyRequest) => Promise<{ userId: string; workspaceId: string }>;

export const idSchema = { type: "string", minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9._:@-]+$" } as const;
/** The OpenAPI security of a route that authenticates its caller (see {@link guard}): a bearer JWT. */
export const bearerAuth = [{ bearer: [] }];

/** The schema of an error response (`{statusCode, error, message}`) described as `description`. */
export const errorBody = (description: string) =>
  ({
    description,
    type: "object",
    required: ["statusCode", "error", "message"],
    properties: { statusCode: { type: "integer" }, error: { type: "string" }, message: { type: "string" } },
  }) as const;
/** The error responses every REST route may give, for its response schema (their reasons are those of `error-codes.ts`). */
export const errorResponses = {
  400: errorBody("Malformed JSON, a body or parameter that does not match the schema, or a rule of the domain (invalid)"),
  401: errorBody("Missing, malformed, forged, expired or revoked bearer token"),
  403: errorBody("The caller is part of it but may not do this (forbidden)"),
  404: errorBody("No such thing, or not the caller's: existence is not revealed (not_found, not_a_member, not_a_participant)"),
  409: errorBody("A conflict with the current state (conflict)"),
  429: errorBody("The caller's budget for this route is spent (rate_limited); Retry-After says when to try again"),
  503: errorBody("Kafka or the processor did not answer in time (timeout, unavailable): retry; a retried command is not applied twice"),
};

/**
 * The caller of a request, once authenticated and within their budget for the route (each route
 * counts as one event name in the per-user limits shared with the socket); 429 with
 * `Retry-After` otherwise.
 */
export function guard(authenticate: Authenticate, rateLimiter: ActionRateLimiter | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = await authenticate(request);
    const decision = await rateLimiter?.consume(caller.userId, `${request.method} ${request.routeOptions.url ?? ""}`);
    if (decision?.allowed === false) {
      void reply.header("retry-after", String(Math.ceil(decision.retryAfterMs / 1000)));
      throw new ServiceError("rate_limited", `too many requests; retry in ${decision.retryAfterMs} ms`);
    }
    return caller;
  };
}

/** Answers errors as `{statusCode, error, message}` from the error-code registry; unknown errors become `internal`. */
export function useRestErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error instanceof ServiceError) return sendError(reply, error.code, error.publicMessage);
    if (error.validation !== undefined || error.statusCode === 400) return sendError(reply, "invalid", error.message);
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ statusCode: error.statusCode, error: error.name, message: error.message });
    }
    request.log.error({ err: error }, "request failed");
    return sendError(reply, "internal", "internal error");
  });
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  const { status, title } = ERROR_CODES[code];
  return reply.code(status).send({ statusCode: status, error: title, message });
}
