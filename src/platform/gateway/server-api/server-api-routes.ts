import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Histogram } from "prom-client";
import { ERROR_CODES, ServiceError, type ErrorCode } from "../../errors/error-codes.js";
import { apiKeyMatches, presentedKey } from "./api-keys.js";
import type { ServerMethod } from "./server-method.js";

/** The path of a server API method. */
export const serverApiPath = (method: string): string => `/api/server/${method}`;

/** The OpenAPI security of the server API: an API key in `X-API-Key` (or `Authorization: apikey <key>`). */
export const apiKeyAuth = [{ apiKey: [] }];

/** `{error: {code, reason, message}}`: `code` is the registry's HTTP status of `reason`, a code of the error registry. */
const errorSchema = {
  type: "object",
  required: ["code", "reason", "message"],
  properties: { code: { type: "integer" }, reason: { type: "string" }, message: { type: "string" } },
} as const;

/** The error object of a refusal, from the one registry. */
export function serverError(code: ErrorCode, message: string): { code: number; reason: ErrorCode; message: string } {
  return { code: ERROR_CODES[code].status, reason: code, message };
}

/** What a method's refusal becomes: a ServiceError keeps its code; anything else is `internal` (logged, never shown). */
function refusalOf(error: unknown, app: FastifyInstance): { code: number; reason: ErrorCode; message: string } {
  if (error instanceof ServiceError) return serverError(error.code, error.publicMessage);
  app.log.error({ err: error }, "server API call failed");
  return serverError("internal", "internal error");
}

export interface ServerApiRoutesOptions {
  readonly methods: readonly ServerMethod[];
  /** The keys backends present; the routes are registered only with at least one. */
  readonly keys: readonly string[];
  /** Observes every call by method and outcome (`ok` or the refusal's code). */
  readonly calls: Histogram<"method" | "outcome">;
}

/**
 * The server API over HTTP, Centrifugo's shapes: `POST /api/server/<method>` with the params as
 * the JSON body and an API key (`X-API-Key` or `Authorization: apikey <key>`, compared in
 * constant time, never logged); the answer is `200 {result}` or `200 {error: {code, reason,
 * message}}` for a refused call, `400 {error}` for a body that does not match the method's
 * schema, `401 {error}` for a missing or wrong key. `batch` runs `{commands: [{<method>:
 * params}, …]}` in order and answers `{replies: [{<method>: result} | {error}, …]}`.
 */
export const serverApiRoutes: FastifyPluginAsync<ServerApiRoutesOptions> = async (app, options) => {
  /** Records a call of the request's route with its outcome and how long it took. */
  const observe = (request: FastifyRequest, outcome: string, reply: FastifyReply) =>
    options.calls.observe({ method: (request.routeOptions.url ?? "").slice(serverApiPath("").length), outcome }, reply.elapsedTime / 1000);
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const [status, refusal] =
      error.validation !== undefined || error.statusCode === 400
        ? [400, serverError("invalid", error.message)]
        : error instanceof ServiceError && error.code === "unauthorized"
          ? [401, serverError("unauthorized", error.message)]
          : (() => {
              const other = refusalOf(error, app);
              return [other.code, other] as const;
            })();
    observe(request, refusal.reason, reply);
    return reply.code(status).send({ error: refusal });
  });
  app.addHook("onRequest", async (request) => {
    if (!apiKeyMatches(options.keys, presentedKey(request.headers))) throw new ServiceError("unauthorized", "a valid API key is required (X-API-Key)");
  });

  const byName = new Map(options.methods.map((method) => [method.name, method]));
  for (const method of options.methods) {
    app.post(
      serverApiPath(method.name),
      {
        schema: {
          tags: ["server API"],
          summary: method.description,
          security: apiKeyAuth,
          body: method.params,
          response: {
            200: { description: "The result, or the refusal", type: "object", properties: { result: method.result, error: errorSchema } },
            400: { description: "A body that does not match the method's params", type: "object", properties: { error: errorSchema } },
            401: { description: "A missing or wrong API key", type: "object", properties: { error: errorSchema } },
          },
        },
      },
      async (request, reply) => {
        try {
          const result = await method.call(request.body as Record<string, unknown>);
          observe(request, "ok", reply);
          return { result };
        } catch (error) {
          const refusal = refusalOf(error, app);
          observe(request, refusal.reason, reply);
          return { error: refusal };
        }
      },
    );
  }

  app.post(
    serverApiPath("batch"),
    {
      schema: {
        tags: ["server API"],
        summary: "Several calls in one request, run in order; each answered as on its own",
        security: apiKeyAuth,
        body: {
          type: "object",
          required: ["commands"],
          properties: {
            commands: {
              type: "array",
              maxItems: 100,
              items: { type: "object", minProperties: 1, maxProperties: 1, additionalProperties: { type: "object" }, description: "{<method>: params}" },
            },
          },
        },
        response: {
          200: {
            description: "One reply per command, in order",
            type: "object",
            properties: { replies: { type: "array", items: { type: "object", additionalProperties: true } } },
          },
          400: { description: "A body that is not a list of commands", type: "object", properties: { error: errorSchema } },
          401: { description: "A missing or wrong API key", type: "object", properties: { error: errorSchema } },
        },
      },
    },
    async (request, reply) => {
      const { commands } = request.body as { commands: Record<string, Record<string, unknown>>[] };
      const replies: Record<string, unknown>[] = [];
      for (const command of commands) {
        const [name, params] = Object.entries(command)[0]!;
        if (!byName.has(name)) {
          replies.push({ error: serverError("invalid", `unknown method ${name}`) });
          continue;
        }
        // Through the method's own route: the same validation, answers and errors as a call of its own.
        const answer = await callRoute(app, name, params, request.headers);
        replies.push(answer.result === undefined ? answer : { [name]: answer.result });
      }
      observe(request, "ok", reply);
      return { replies };
    },
  );
};

/** Calls the route of `method` in-process with the caller's key; resolves with its `{result}` or `{error}`. */
export async function callRoute(
  app: FastifyInstance,
  method: string,
  params: unknown,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Promise<{ result?: Record<string, unknown>; error?: { code: number; reason: ErrorCode; message: string } }> {
  const key = presentedKey(headers);
  const response = await app.inject({
    method: "POST",
    url: serverApiPath(method),
    headers: { "content-type": "application/json", ...(key === undefined ? {} : { "x-api-key": key }) },
    payload: JSON.stringify(params ?? {}),
  });
  return response.json();
}
