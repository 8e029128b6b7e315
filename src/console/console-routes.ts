import { readFile } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { join } from "node:path";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { aggregateContexts, showAggregate } from "../cli/aggregate-show.js";
import { UnreachableDependencyError } from "../cli/dependency-wait.js";
import { listDeadLetters, replayDeadLetters } from "../cli/dlq-tools.js";
import { tailEvents } from "../cli/events-tail.js";
import { groupsLag } from "../cli/groups-lag.js";
import { openKafkaTools } from "../cli/kafka-tools.js";
import { formatRebuildResult, openProjectionTools, ProjectionToolError, type ProjectionTools } from "../cli/projection-tools.js";
import { ToolError } from "../cli/tool-error.js";
import { jsonLine, recordJson } from "../cli/tool-output.js";
import { contextOfTopic, contractTopics, metaOf, parseStartPosition, resolveTopic, typeOf, type ToolRecord } from "../cli/topic-reader.js";
import type { Config } from "../contexts/index.js";
import type { ReadModelLookup } from "../platform/context-module.js";
import { CONTEXTS, topicKindsOf } from "../platform/contract/topics.js";
import { projectRoot } from "../platform/config/project.js";
import type { TokenVerifier } from "../platform/gateway/jwt-verifier.js";
import { REPLAY_OF_HEADER } from "../platform/processor/dead-letter.js";
import type { AvroCodec } from "../infra/avro/avro-codec.js";
import type { Logger } from "../infra/log/logger.js";
import { consolePage, PAGES, refusedPage, signInPage, type PageData } from "./console-pages.js";
import { metricsOverview } from "./metrics-overview.js";
import { Confirmations, credentialOf, operatorAccess, sessionCookie, type Access } from "./operator-access.js";

export interface ConsoleOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Decodes for the projection tools (a rebuild replays through it). */
  readonly codec: AvroCodec;
  /** The gateway's own JWT verifier. */
  readonly verifier: TokenVerifier;
  /** The process's metrics registry, which `/metrics` serves. */
  readonly registry: Registry;
  /** The read models the contexts of this gateway let operators look up. */
  readonly lookups: readonly ReadModelLookup[];
  /** Live event streams open at once on this gateway (each holds a Kafka consumer); more are refused with 429. */
  readonly maxStreams?: number;
}

const ASSETS = new Map([
  ["console.js", "text/javascript; charset=utf-8"],
  ["console.css", "text/css; charset=utf-8"],
]);
const PUBLIC_ROUTES = new Set(["/console/sign-in", "/console/sign-out", "/console/assets/:file"]);
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";

declare module "fastify" {
  interface FastifyRequest {
    consoleOperator?: string;
  }
}

/**
 * The operators' web console under `/console`: pages for the overview (this process's metrics),
 * live events (an SSE stream of `events tail`), an aggregate's timeline (`aggregate show`),
 * projections (`projections status`, `groups lag`, rebuild), dead letters (`dlq list`, replay)
 * and the contexts' read-model lookups, over the same functions as the `quikchat` tools.
 *
 * Every route but sign-in and the assets asks for an operator (see `operatorAccess`): a page
 * answers 401 with the sign-in form or 403, the API a JSON error. Writes (replay, rebuild) are
 * POSTs that answer 409 with a confirmation token and a prompt first, and act only when that
 * token is posted back.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const { config, logger } = options;
  const access = operatorAccess(options.verifier, config.console.key);
  const confirmations = new Confirmations();
  const maxStreams = options.maxStreams ?? 8;
  /** The live event streams open now: ended before the server closes, which would wait for them otherwise. */
  const streams = new Set<AbortController>();
  const kafka = lazily(() => openKafkaTools(config, logger.child({ component: "console" })));
  const projections = lazily<ProjectionTools>(() => openProjectionTools(config, logger.child({ component: "console" }), options.codec));
  app.addHook("preClose", async () => {
    for (const stream of streams) stream.abort();
  });
  app.addHook("onClose", async () => {
    await Promise.allSettled([kafka.close(), projections.close()]);
  });

  const data: PageData = {
    contexts: [...CONTEXTS],
    topics: contractTopics(""),
    aggregateContexts: aggregateContexts(config),
    dlqContexts: CONTEXTS.filter((context) => topicKindsOf(context).includes("dlq")),
    lookups: options.lookups.map(({ id, title, keyName }) => ({ id, title, keyName })),
  };
  const isApi = (request: FastifyRequest) => request.url.startsWith("/console/api/");
  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: Extract<Access, { ok: false }>) => {
    if (isApi(request)) return sendJson(reply.code(refusal.status), { statusCode: refusal.status, error: STATUS_CODES[refusal.status], message: refusal.message });
    return sendHtml(reply.code(refusal.status), refusal.status === 401 ? signInPage(refusal.message) : refusedPage(refusal.status, refusal.message));
  };

  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 16_384 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook("onRequest", async (request, reply) => {
    void reply.header("content-security-policy", CSP).header("x-content-type-options", "nosniff").header("referrer-policy", "no-referrer").header("cache-control", "no-store");
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? "")) return;
    const result = await access(credentialOf(request.headers));
    if (!result.ok) return refuse(request, reply, result);
    request.consoleOperator = result.operator;
  });
  app.setErrorHandler(async (error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const mistake = error instanceof ToolError || error instanceof ProjectionToolError || error.validation !== undefined;
    // Kafka or the registry silent when the console first reads them: the message names the variable and address.
    const unreachable = error instanceof UnreachableDependencyError;
    // fastify's own refusals (a body too large, a content type it does not parse) keep their status.
    const refused = error.statusCode !== undefined && error.statusCode < 500;
    if (!mistake && !unreachable && !refused) request.log.error({ err: error }, "console request failed");
    const status = mistake ? 400 : unreachable ? 503 : refused ? error.statusCode! : 500;
    const message = status === 500 ? "internal error (see the gateway's log)" : error.message;
    return isApi(request) ? sendJson(reply.code(status), { statusCode: status, error: STATUS_CODES[status], message }) : sendHtml(reply.code(status), refusedPage(status, message));
  });

  const hidden = { hide: true } as const;

  app.get("/console/assets/:file", { schema: hidden }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = ASSETS.get(file);
    if (type === undefined) return reply.code(404).type("text/plain").send("not found");
    return reply.type(type).send(await readFile(join(projectRoot(), "src", "console", "assets", file)));
  });
  app.get("/console/sign-in", { schema: hidden }, async (_request, reply) => sendHtml(reply, signInPage(undefined)));
  app.post("/console/sign-in", { schema: hidden }, async (request, reply) => {
    const credential = ((request.body ?? {}) as { credential?: unknown }).credential;
    const result = await access(typeof credential === "string" ? credential.trim() : undefined);
    if (!result.ok) return refuse(request, reply, result);
    return reply.header("set-cookie", sessionCookie((credential as string).trim(), result.expiresAt, request.protocol === "https")).redirect("/console", 303);
  });
  app.post("/console/sign-out", { schema: hidden }, async (request, reply) => reply.header("set-cookie", sessionCookie("", undefined, request.protocol === "https")).redirect("/console/sign-in", 303));

  for (const page of PAGES) {
    app.get(`/console${page.path}`, { schema: hidden }, async (request, reply) => sendHtml(reply, consolePage(page.id, request.consoleOperator ?? "", data)));
  }

  app.get("/console/api/overview", { schema: hidden }, async (_request, reply) => sendJson(reply, { at: Date.now(), sections: await metricsOverview(options.registry) }));

  app.get("/console/api/events", { schema: hidden }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const from = parseStartPosition(query.from || "end");
    if (from === undefined) throw new ToolError("from: expected beginning, end, an ISO time (2026-12-03T10:00:00Z) or <partition>:<offset>");
    const tools = await kafka.get();
    const target = query.target ?? "";
    resolveTopic(tools.prefix, target);
    if (streams.size >= maxStreams) return sendJson(reply.code(429), { statusCode: 429, error: "Too Many Requests", message: `${maxStreams} live event streams are open on this gateway already` });
    const abort = new AbortController();
    streams.add(abort);
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    const send = (event: string, body: unknown) => out.write(`event: ${event}\ndata: ${jsonLine(body)}\n\n`);
    out.on("close", () => abort.abort());
    const heartbeat = setInterval(() => out.write(": keep-alive\n\n"), 15_000);
    try {
      const filters = { ...(query.key ? { key: query.key } : {}), ...(query.type ? { type: query.type } : {}), ...(query.correlation ? { correlation: query.correlation } : {}) };
      await tailEvents(tools, { target, from, follow: true, signal: abort.signal, ...filters, onStart: () => send("ready", { topic: resolveTopic(tools.prefix, target) }) }, (record) =>
        send("record", consoleRecord(tools.prefix, record)),
      );
    } catch (error) {
      logger.warn({ err: error }, "console event stream failed");
      send("failure", { message: error instanceof ToolError ? error.message : "the stream failed (see the gateway's log)" });
    } finally {
      clearInterval(heartbeat);
      streams.delete(abort);
      out.end();
    }
  });

  app.get("/console/api/aggregates/:context/:id", { schema: hidden }, async (request, reply) => {
    const { context, id } = request.params as { context: string; id: string };
    const query = request.query as { topic?: string; offset?: string };
    const tools = await kafka.get();
    const offset = query.offset === undefined || query.offset === "" ? undefined : Number(query.offset);
    if (offset !== undefined && !Number.isSafeInteger(offset)) throw new ToolError("offset: expected a number");
    const at = offset === undefined ? undefined : { kind: "offset" as const, offset, ...(query.topic ? { topic: query.topic } : {}) };
    const view = await showAggregate(tools, context, id, at);
    return sendJson(reply, { ...view, events: view.events.map((record) => consoleRecord(tools.prefix, record)) });
  });

  app.get("/console/api/projections", { schema: hidden }, async (_request, reply) => {
    const [statuses, groups] = await Promise.all([(await projections.get()).status(), groupsLag(await kafka.get())]);
    return sendJson(reply, { projections: statuses, groups });
  });

  app.post("/console/api/projections/:name/rebuild", { schema: hidden }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const tools = await projections.get();
    if (!tools.names().includes(name)) throw new ToolError(`no projection is named ${name}; the projections are ${tools.names().join(", ")}`);
    const prompt = `Rebuild the ${name} projection? Its read model and checkpoints are cleared, then its topic is replayed (refused while a projector runs it).`;
    if (!confirmed(request, reply, "rebuild", name, prompt)) return reply;
    const result = await tools.rebuild(name);
    logger.info({ operator: request.consoleOperator, projection: name, applied: result.applied }, "console: projection rebuilt");
    return sendJson(reply, { done: formatRebuildResult(name, result) });
  });

  app.get("/console/api/dead-letters/:context", { schema: hidden }, async (request, reply) => {
    const { context } = request.params as { context: string };
    const tools = await kafka.get();
    const letters = await listDeadLetters(tools, context);
    return sendJson(reply, { letters: letters.map((letter) => ({ id: letter.id, ...consoleRecord(tools.prefix, letter.record), commandId: metaOf(letter.record)?.commandId ?? null, replayOf: letter.record.headers[REPLAY_OF_HEADER] ?? null })) });
  });

  app.post("/console/api/dead-letters/:context/:id/replay", { schema: hidden }, async (request, reply) => {
    const { context, id } = request.params as { context: string; id: string };
    const tools = await kafka.get();
    const letter = (await listDeadLetters(tools, context)).find((candidate) => candidate.id === id);
    if (letter === undefined) throw new ToolError(`no dead letter ${id} in the ${context} DLQ`);
    const prompt = `Replay dead letter ${id} of ${context} (${typeOf(letter.record) ?? "undecodable"}, key ${letter.record.key ?? "null"}) to ${letter.record.headers.source_topic ?? "?"}? If it fails again it comes back here once.`;
    if (!confirmed(request, reply, "replay", `${context}/${id}`, prompt)) return reply;
    const result = await replayDeadLetters(tools, context, { ids: [id] });
    logger.info({ operator: request.consoleOperator, context, deadLetter: id }, "console: dead letter replayed");
    return sendJson(reply, { done: result.replayed.map((replayed) => `replayed ${replayed.id} to ${replayed.topic}`).join("; ") });
  });

  app.get("/console/api/lookups/:lookup/:key", { schema: hidden }, async (request, reply) => {
    const { lookup: lookupId, key } = request.params as { lookup: string; key: string };
    const lookup = options.lookups.find((candidate) => candidate.id === lookupId);
    if (lookup === undefined) throw new ToolError(`no read model lookup ${lookupId}; there are ${options.lookups.map((candidate) => candidate.id).join(", ") || "none"}`);
    return sendJson(reply, { lookup: lookup.id, key, value: await lookup.read(key) });
  });

  /** Whether the request posts a valid confirmation of `action` on `target`; otherwise answers 409 with one to post back. */
  function confirmed(request: FastifyRequest, reply: FastifyReply, action: string, target: string, prompt: string): boolean {
    const token = ((request.body ?? {}) as { confirmation?: unknown }).confirmation;
    if (typeof token === "string" && confirmations.check(token, action, target)) return true;
    void sendJson(reply.code(409), { statusCode: 409, error: "Confirmation Required", message: prompt, confirmation: confirmations.issue(action, target) });
    return false;
  }
};

/** A record for the console: the tools' JSON form, with its context and its correlation and event ids. */
function consoleRecord(prefix: string, record: ToolRecord): Record<string, unknown> {
  const meta = metaOf(record);
  return { ...recordJson(record), context: contextOfTopic(prefix, record.topic)?.context ?? null, correlationId: meta?.correlationId ?? null, eventId: meta?.eventId ?? null };
}

/** JSON with the tools' encoding (64-bit integers, bytes). */
const sendJson = (reply: FastifyReply, body: unknown) => reply.type("application/json; charset=utf-8").send(jsonLine(body));
const sendHtml = (reply: FastifyReply, html: string) => reply.type("text/html; charset=utf-8").send(html);

/** A connection opened on first use, opened again after a failure, and closed with the app. */
function lazily<T extends { close(): Promise<void> }>(open: () => Promise<T>) {
  let opened: Promise<T> | undefined;
  return {
    get: (): Promise<T> =>
      (opened ??= open().catch((error: unknown) => {
        opened = undefined;
        throw error;
      })),
    close: async () => {
      const pending = opened;
      opened = undefined;
      await (await pending?.catch(() => undefined))?.close();
    },
  };
}
