import type { SwaggerTransform } from "@fastify/swagger";

const refusal = (description: string) =>
  ({
    description,
    type: "object",
    properties: { error: { type: "string" }, message: { type: "string" } },
  }) as const;

/**
 * The OpenAPI description of `GET /socket/websocket`, which `@fastify/websocket` hides from the
 * document: the upgrade, its parameters, and the plain HTTP refusals that come instead of a
 * socket (see `phoenixSocketRoute`). The frames themselves are the Phoenix Channels protocol,
 * which OpenAPI does not describe (README: Client protocol).
 */
export const socketDocumentation: SwaggerTransform = ({ schema, url }) => ({
  url,
  schema: {
    ...schema,
    hide: false,
    tags: ["socket"],
    summary: "The Phoenix Channels socket (WebSocket upgrade)",
    description:
      "A WebSocket upgrade speaking the Phoenix Channels protocol: vsn 2.0.0 JSON arrays [join_ref, ref, topic, event, payload] " +
      "(the phoenix client's default), or 1.0.0 objects. The token is checked before the upgrade, so a refusal is plain HTTP " +
      "and no socket opens; it may also come as phoenix.js's authToken option (Sec-WebSocket-Protocol: phoenix, base64url.bearer.phx.<token>).",
    security: [{ socketToken: [] }],
    querystring: {
      type: "object",
      properties: {
        vsn: { type: "string", pattern: "^[12]\\.0\\.\\d+$", description: "protocol version, 2.0.x (JSON arrays) or 1.0.x (objects); 1.0.0 when absent" },
        token: { type: "string", description: "a JWT with sub, workspace_id and exp" },
        device_id: { type: "string", description: "the registered device behind the socket, shown in presence" },
        platform: { type: "string", description: "ios, android, web or desktop, shown in presence; web when absent" },
      },
    },
    response: {
      101: { description: "Switching Protocols: the socket is open", type: "null" },
      400: refusal("unsupported vsn"),
      401: refusal("token missing, malformed, forged, expired, not yet valid, wrong iss/aud, missing claims, a sub of the service's own (system:…), or revoked"),
      426: refusal("a plain GET without a WebSocket upgrade"),
      429: refusal("the user already holds WS_MAX_CONNECTIONS_PER_USER sockets on this gateway"),
      503: refusal("the gateway is shutting down, or the JWKS endpoint or the token revocations are unreachable"),
    },
  },
});
