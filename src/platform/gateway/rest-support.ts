import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CODES, ServiceError, type ErrorCode } from "../errors/error-codes.js";
import type { ActionRateLimiter } from "../phoenix/action-rate-limiter.js";

/** The caller of a REST request, from `Authorization: Bearer <jwt>`; throws `ServiceError("unauthorized")`. */
export type Authenticate = (request: FastifyRequest) => Promise<{ userId: string; workspaceId: string }>;

export const idSchema = { type: "string", minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9._:@-]+$" } as const;
const errorBody = {
  type: "object",
  required: ["statusCode", "error", "message"],
  properties: { statusCode: { type: "integer" }, error: { type: "string" }, message: { type: "string" } },
} as const;
/** The error responses every REST route may give, for its response schema. */
export const errorResponses = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 429: errorBody, 503: errorBody };

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
