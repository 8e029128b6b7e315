import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";

/**
 * Collects every route's JSON schemas into an OpenAPI 3 document served at `/openapi.json`.
 * Must be registered before the routes it describes. Security is per route: a route that
 * authenticates its caller says so (`security: bearerAuth`); health and metrics need nothing.
 * Every response carries a `description` in its schema.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: "QuikChat Realtime",
        description: "REST API of the realtime chat backend. WebSocket clients use the Phoenix Channels protocol at /socket/websocket.",
        version,
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A JWT with sub, workspace_id and exp (README: Tokens)" },
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "A key of SERVER_API_KEYS, for backends (also accepted as Authorization: apikey <key>)" },
          socketToken: { type: "apiKey", in: "query", name: "token", description: "The same JWT, as the socket's token param (or phoenix.js's authToken option)" },
        },
      },
    },
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
