import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";

/**
 * Collects every route's JSON schemas into an OpenAPI 3 document served at `/openapi.json`.
 * Must be registered before the routes it describes.
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
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      security: [{ bearer: [] }],
    },
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
