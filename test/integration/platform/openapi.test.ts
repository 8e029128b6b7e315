import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type Running } from "../../../src/cli/start.js";
import { freePort } from "../../support/service-process.js";
import { testConfig, testLogger, uniquePrefix } from "../../support/test-config.js";
import { TEST_JWT_SECRET } from "../../support/tokens.js";

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string }>;
}
interface OpenApiDocument {
  openapi: string;
  security?: unknown;
  paths: Record<string, Record<string, Operation>>;
}

describe("/openapi.json of a gateway with every context", () => {
  let running: Running | undefined;
  let document: OpenApiDocument;

  beforeAll(async () => {
    const port = await freePort();
    const config = testConfig({
      KAFKA_TOPIC_PREFIX: uniquePrefix("openapi"),
      PORT: String(port),
      HOST: "127.0.0.1",
      QUIKCHAT_STACK: "off",
      JWT_SECRET: TEST_JWT_SECRET,
      // With a key, the server API is served: its routes are described too.
      SERVER_API_KEYS: "openapi-test-key-0123456789",
      GRPC_PORT: String(await freePort()),
    });
    running = await start(config, testLogger(), "gateway");
    document = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as OpenApiDocument;
  }, 120_000);

  afterAll(async () => {
    await running?.shutdown("test over");
  });

  const operations = () => Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));

  it("is a valid OpenAPI document", async () => {
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("asks a bearer token of the REST API and an API key of the server API: health and metrics need none", () => {
    expect(document.security).toBeUndefined();
    const open = operations().filter(({ operation }) => operation.security === undefined).map(({ path, method }) => `${method} ${path}`);
    expect(open.sort()).toEqual(["get /health", "get /health/live", "get /health/ready", "get /metrics", "get /socket/longpoll", "post /socket/longpoll"]);
    const api = operations().filter(({ path }) => path.startsWith("/api/") && !path.startsWith("/api/server/"));
    expect(api.length).toBeGreaterThan(5);
    const server = operations().filter(({ path }) => path.startsWith("/api/server/"));
    expect(server.map(({ path }) => path)).toEqual(expect.arrayContaining(["/api/server/publish", "/api/server/broadcast", "/api/server/batch", "/api/server/history"]));
    for (const { path, method, operation } of server) expect({ route: `${method} ${path}`, security: operation.security }).toEqual({ route: `${method} ${path}`, security: [{ apiKey: [] }] });
    for (const { path, method, operation } of api) expect({ route: `${method} ${path}`, security: operation.security }).toEqual({ route: `${method} ${path}`, security: [{ bearer: [] }] });
  });

  it("describes the socket's upgrade and every refusal that comes instead of it", () => {
    const socket = document.paths["/socket/websocket"]?.get;
    expect(socket?.security).toEqual([{ socketToken: [] }]);
    expect(Object.keys(socket?.responses ?? {}).sort()).toEqual(["101", "400", "401", "426", "429", "503"]);
    expect(Object.keys(document.paths["/socket/longpoll"] ?? {}).sort()).toEqual(["get", "post"]);
  });

  it("describes every response", () => {
    const undescribed = operations().flatMap(({ path, method, operation }) =>
      Object.entries(operation.responses)
        .filter(([, response]) => response.description === "Default Response" || response.description === "")
        .map(([status]) => `${method} ${path} ${status}`),
    );
    expect(undescribed).toEqual([]);
  });
});
