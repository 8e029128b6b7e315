import { createHash, randomUUID } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { AddMember, CreateConversation, RemoveMember } from "../../contract/generated/avro-types.js";
import type { MembershipReadModel } from "../../projections/membership/membership-read-model.js";
import type { ConversationView } from "../../projections/membership/mysql-membership-store.js";
import type { CommandOutcome } from "../../commands/command-outcome.js";
import type { CommandBus } from "../commands/command-bus.js";
import { messagePayload, type HistoryReader } from "../messaging/conversation-feed.js";
import { ERROR_CODES, isErrorCode, ServiceError } from "../errors/error-codes.js";
import type { ActionRateLimiter } from "../phoenix/action-rate-limiter.js";

/** The caller of a REST request, from `Authorization: Bearer <jwt>`; throws `ServiceError("unauthorized")`. */
export type Authenticate = (request: FastifyRequest) => Promise<{ userId: string; workspaceId: string }>;

export interface ConversationRoutesOptions {
  readonly bus: CommandBus;
  readonly membership: MembershipReadModel;
  readonly authenticate: Authenticate;
  /** Per-user budgets, shared with the socket: each route counts as one event name. */
  readonly rateLimiter?: ActionRateLimiter;
  /** Message history, for `GET /api/conversations/:id/messages`; absent, that route is not served. */
  readonly history?: HistoryReader;
  /** How long a write waits for the membership read model to show it before answering. */
  readonly readYourWritesMs?: number;
}

const id = { type: "string", minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9._:@-]+$" } as const;
const member = {
  type: "object",
  required: ["userId", "role"],
  properties: { userId: { type: "string" }, role: { type: "string" } },
} as const;
const conversation = {
  type: "object",
  required: ["id", "type", "members"],
  properties: {
    id: { type: "string" },
    type: { type: "string" },
    title: { type: ["string", "null"] },
    createdBy: { type: "string" },
    createdAt: { type: "integer" },
    members: { type: "array", items: member },
  },
} as const;
const errorBody = {
  type: "object",
  required: ["statusCode", "error", "message"],
  properties: { statusCode: { type: "integer" }, error: { type: "string" }, message: { type: "string" } },
} as const;
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 429: errorBody, 503: errorBody };

interface CreateBody {
  type: CreateConversation["type"];
  members: string[];
  name?: string;
  description?: string;
}

/**
 * Conversations and membership over REST. Each write is a command; the answer comes from the
 * processor's outcome, and a successful write returns only once the membership read model shows
 * it, so the members can join the conversation's channels right away (read-your-writes).
 * Non-members get 404 for a conversation, as if it did not exist.
 */
export const conversationRoutes: FastifyPluginAsync<ConversationRoutesOptions> = async (app, options) => {
  const { bus, membership, rateLimiter } = options;

  /** The caller, once authenticated and within their budget for this route. */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = await options.authenticate(request);
    const decision = await rateLimiter?.consume(caller.userId, `${request.method} ${request.routeOptions.url ?? ""}`);
    if (decision?.allowed === false) {
      void reply.header("retry-after", String(Math.ceil(decision.retryAfterMs / 1000)));
      throw new ServiceError("rate_limited", `too many requests; retry in ${decision.retryAfterMs} ms`);
    }
    return caller;
  };
  const waitMs = options.readYourWritesMs ?? 5_000;

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error instanceof ServiceError) return sendError(reply, error.code, error.message);
    if (error.validation !== undefined || error.statusCode === 400) return sendError(reply, "invalid", error.message);
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ statusCode: error.statusCode, error: error.name, message: error.message });
    }
    request.log.error({ err: error }, "request failed");
    return sendError(reply, "internal", "internal error");
  });

  app.post<{ Body: CreateBody }>(
    "/api/conversations",
    {
      schema: {
        tags: ["conversations"],
        body: {
          type: "object",
          required: ["type", "members"],
          additionalProperties: false,
          properties: {
            type: { type: "string", enum: ["direct", "group", "channel"] },
            members: { type: "array", items: id, maxItems: 1000, uniqueItems: true },
            name: { type: "string", minLength: 1, maxLength: 255 },
            description: { type: "string", maxLength: 2000 },
          },
        },
        response: { 201: conversation, ...errors },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const key = request.headers["idempotency-key"];
      // A retried create with the same Idempotency-Key is the same command for the same id.
      const derived = typeof key === "string" && key !== "" ? digest(caller.userId, key) : undefined;
      const conversationId = derived ?? randomUUID();
      const command: CreateConversation = {
        meta: bus.meta(caller, derived),
        conversationId,
        type: request.body.type,
        title: request.body.name ?? null,
        description: request.body.description ?? null,
        memberIds: request.body.members.filter((userId) => userId !== caller.userId),
      };
      expectOk(await bus.send("conversations", "CreateConversation", conversationId, command));
      const view = await until(waitMs, () => visibleTo(membership, conversationId, caller.userId));
      return reply.code(201).send(view ?? { id: conversationId, type: command.type, title: command.title, members: [] });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/conversations/:id",
    { schema: { tags: ["conversations"], params: { type: "object", properties: { id } }, response: { 200: conversation, ...errors } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const view = await membership.conversation(request.params.id);
      if (!view || view.workspaceId !== caller.workspaceId || !view.members.some((m) => m.userId === caller.userId)) {
        throw new ServiceError("not_found", "no such conversation");
      }
      return present(view);
    },
  );

  const { history } = options;
  if (history) {
    app.get<{ Params: { id: string }; Querystring: { after_seq?: number; before_seq?: number; limit: number } }>(
      "/api/conversations/:id/messages",
      {
        schema: {
          tags: ["conversations"],
          params: { type: "object", properties: { id } },
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              after_seq: { type: "integer", minimum: 0 },
              before_seq: { type: "integer", minimum: 1 },
              limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
            },
          },
          response: {
            200: {
              type: "object",
              required: ["messages"],
              properties: { messages: { type: "array", items: { type: "object", additionalProperties: true } } },
            },
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const caller = await authenticate(request, reply);
        const { id: conversationId } = request.params;
        if (!(await membership.isMember(conversationId, caller.userId, caller.workspaceId))) {
          throw new ServiceError("not_found", "no such conversation");
        }
        const { after_seq: afterSeq, before_seq: beforeSeq, limit } = request.query;
        // Without after_seq the page is the newest messages (before before_seq, if given): paging
        // backwards from the present; with after_seq it is the oldest after it: paging forwards.
        const messages = await history.messages(conversationId, {
          limit,
          ...(afterSeq === undefined ? {} : { afterSeq }),
          ...(beforeSeq === undefined ? {} : { beforeSeq }),
          from: afterSeq === undefined ? "newest" : "oldest",
        });
        return { messages: messages.map(messagePayload) };
      },
    );
  }

  app.post<{ Params: { id: string }; Body: { userId: string; role?: AddMember["role"] } }>(
    "/api/conversations/:id/members",
    {
      schema: {
        tags: ["conversations"],
        params: { type: "object", properties: { id } },
        body: {
          type: "object",
          required: ["userId"],
          additionalProperties: false,
          properties: { userId: id, role: { type: "string", enum: ["admin", "member"] } },
        },
        response: { 201: conversation, ...errors },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { id: conversationId } = request.params;
      const command: AddMember = {
        meta: bus.meta(caller),
        conversationId,
        userId: request.body.userId,
        role: request.body.role ?? "member",
      };
      expectOk(await bus.send("conversations", "AddMember", conversationId, command));
      await until(waitMs, async () => ((await membership.membership(conversationId, command.userId)).member ? true : undefined));
      const view = await membership.conversation(conversationId);
      return reply.code(201).send(view ? present(view) : { id: conversationId, type: "group", members: [] });
    },
  );

  app.delete<{ Params: { id: string; userId: string } }>(
    "/api/conversations/:id/members/:userId",
    {
      schema: {
        tags: ["conversations"],
        params: { type: "object", properties: { id, userId: id } },
        response: { 204: { type: "null" }, ...errors },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { id: conversationId, userId } = request.params;
      const command: RemoveMember = { meta: bus.meta(caller), conversationId, userId };
      expectOk(await bus.send("conversations", "RemoveMember", conversationId, command));
      await until(waitMs, async () => ((await membership.membership(conversationId, userId)).member ? undefined : true));
      return reply.code(204).send();
    },
  );
};

function sendError(reply: FastifyReply, code: keyof typeof ERROR_CODES, message: string): FastifyReply {
  const { status, error } = ERROR_CODES[code];
  return reply.code(status).send({ statusCode: status, error, message });
}

function expectOk(outcome: CommandOutcome): void {
  if (outcome.ok) return;
  const code = isErrorCode(outcome.error.code) ? outcome.error.code : "internal";
  throw new ServiceError(code, code === "internal" ? "internal error" : outcome.error.message);
}

function present(view: ConversationView): Record<string, unknown> {
  return {
    id: view.id,
    type: view.type,
    title: view.title,
    createdBy: view.createdBy,
    createdAt: view.createdAt,
    members: view.members,
  };
}

async function visibleTo(membership: MembershipReadModel, conversationId: string, userId: string) {
  if (!(await membership.membership(conversationId, userId)).member) return undefined;
  const view = await membership.conversation(conversationId);
  return view ? present(view) : undefined;
}

/** Polls `probe` until it yields a value or `ms` pass (then undefined). */
async function until<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (let delay = 5; Date.now() < deadline; delay = Math.min(delay * 2, 100)) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return undefined;
}

const digest = (userId: string, key: string): string => createHash("sha256").update(`${userId}\u0000${key}`).digest("hex").slice(0, 32);
