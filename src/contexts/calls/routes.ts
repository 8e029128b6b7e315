import type { FastifyPluginAsync } from "fastify";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { bearerAuth, errorBody, errorResponses, guard, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import { iceConfig, turnCredentialsFor, type IceServers } from "./ice-servers.js";

/** What the signaling routes read. */
export interface SignalingRoutesOptions {
  readonly ice: IceServers;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

const urls = { type: "array", items: { type: "string" } } as const;

/**
 * The ICE servers a caller's WebRTC peers use, over REST: `GET /api/signaling/ice-config` (the
 * `iceServers` of an `RTCPeerConnection`) and `POST /api/signaling/turn-credentials` (coturn's
 * REST API answer). Credentials are the caller's own, valid for `ttl` seconds.
 */
export const signalingRoutes: FastifyPluginAsync<SignalingRoutesOptions> = async (app, options) => {
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.get(
    "/api/signaling/ice-config",
    {
      schema: {
        tags: ["calls"],
        security: bearerAuth,
        response: {
          200: {
            description: "The STUN servers, then the TURN servers with the caller's credentials (none listed when none is configured); ask again within ttl seconds",
            type: "object",
            required: ["iceServers", "ttl"],
            properties: {
              iceServers: {
                type: "array",
                items: { type: "object", required: ["urls"], properties: { urls, username: { type: "string" }, credential: { type: "string" } } },
              },
              ttl: { type: "integer" },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      return iceConfig(options.ice, caller.userId, Date.now());
    },
  );

  app.post(
    "/api/signaling/turn-credentials",
    {
      schema: {
        tags: ["calls"],
        security: bearerAuth,
        response: {
          200: {
            description: "The caller's TURN credentials (coturn's REST API scheme: username `<expiry>:<user id>`), valid for ttl seconds, and the TURN URIs they are for",
            type: "object",
            required: ["username", "credential", "password", "ttl", "uris"],
            properties: {
              username: { type: "string" },
              credential: { type: "string" },
              password: { type: "string", description: "The same as credential" },
              ttl: { type: "integer" },
              uris: urls,
            },
          },
          ...errorResponses,
          501: errorBody("No TURN server is configured (not_available)"),
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const credentials = turnCredentialsFor(options.ice, caller.userId, Date.now());
      if (credentials === undefined) throw new ServiceError("not_available", "no TURN server is configured (TURN_SERVERS)");
      return credentials;
    },
  );
};
