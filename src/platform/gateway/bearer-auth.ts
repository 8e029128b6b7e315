import type { FastifyRequest } from "fastify";
import { tokenErrorStatus, type TokenVerifier } from "./jwt-verifier.js";
import { ServiceError } from "../errors/error-codes.js";
import type { Authenticate } from "./rest-support.js";

/** REST authentication: `Authorization: Bearer <jwt>`, verified like a socket's token. */
export function bearerAuthentication(verifier: TokenVerifier): Authenticate {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
    const result = await verifier.verify(token);
    if (result.ok) return { userId: result.token.userId, workspaceId: result.token.workspaceId };
    if (tokenErrorStatus(result.error.code) === 503) throw new ServiceError("unavailable", result.error.message);
    throw new ServiceError("unauthorized", result.error.message);
  };
}
