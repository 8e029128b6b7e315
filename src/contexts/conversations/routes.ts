import { createHash, randomUUID } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { AddMember, CreateConversation, RemoveMember } from "../../platform/contract/generated/avro-types.js";
import type { MembershipReadModel } from "./projections/membership/membership-read-model.js";
import type { ConversationView, InboxCursor, InboxEntry, MysqlMembershipStore } from "./projections/membership/mysql-membership-store.js";
import type { MysqlReadPositionsStore } from "./projections/membership/mysql-read-positions-store.js";
import type { CommandBus } from "../../platform/gateway/command-bus.js";
import { messagePayload, type HistoryReader } from "./channels/conversation-feed.js";
import { invalid } from "../../platform/gateway/payload-fields.js";
import { derivedId, sendMessageCommand } from "./channels/message-payloads.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { bearerAuth, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import { until } from "../../platform/sleep.js";

export interface ConversationRoutesOptions {
  readonly bus: CommandBus;
  readonly membership: MembershipReadModel;
  /** The caller's conversations with their read positions, for `GET /api/conversations`. */
  readonly inbox: Pick<MysqlMembershipStore, "inbox">;
  /** How far a conversation has gone and the caller has read it, for `GET /api/conversations/:id`. */
  readonly readPositions: Pick<MysqlReadPositionsStore, "position">;
  readonly authenticate: Authenticate;
  /** Per-user budgets, shared with the socket: each route counts as one event name. */
  readonly rateLimiter?: ActionRateLimiter;
  /** Message history: `GET /api/conversations/:id/messages`, and each listed conversation's last message. */
  readonly history: HistoryReader;
  /** How long a write waits for the membership read model to show it before answering. */
  readonly readYourWritesMs?: number;
}

/** The rate-limit event name of `POST /api/conversations/:id/messages`: it draws from the socket sends' budget. */
export const SEND_ROUTE = "POST /api/conversations/:id/messages";

const id = idSchema;
const member = {
  type: "object",
  required: ["userId", "role"],
  properties: { userId: { type: "string" }, role: { type: "string" } },
} as const;
const conversation = {
  type: "object",
  required: ["id", "type", "title", "name", "members"],
  properties: {
    id: { type: "string" },
    type: { type: "string" },
    title: { type: ["string", "null"] },
    /** The same as `title`: creates take either. */
    name: { type: ["string", "null"] },
    createdBy: { type: "string" },
    createdAt: { type: "integer" },
    members: { type: "array", items: member },
  },
} as const;
/** A conversation as its member reads it: how far it has gone, and how far the caller has read it. */
const readConversation = {
  ...conversation,
  required: [...conversation.required, "lastSeq", "readSeq", "unreadCount", "lastActivityAt"],
  properties: {
    ...conversation.properties,
    lastSeq: { type: "integer" },
    readSeq: { type: "integer" },
    unreadCount: { type: "integer" },
    lastActivityAt: { type: "integer" },
  },
} as const;
const inboxEntry = {
  ...readConversation,
  required: [...readConversation.required, "lastMessage"],
  properties: { ...readConversation.properties, lastMessage: { type: ["object", "null"], additionalProperties: true } },
} as const;
const errors = errorResponses;
/**
 * The answer of a write the processor accepted but the read model did not show within the wait
 * (a projector behind or down): where to look once it has caught up. Nothing in it is guessed.
 */
const pending = {
  description: "Decided, but the membership read model does not show it yet (a projector behind): it appears at Location",
  type: "object",
  required: ["id", "status"],
  properties: { id: { type: "string" }, status: { type: "string", enum: ["pending"] } },
} as const;

interface CreateBody {
  type: CreateConversation["type"];
  members: string[];
  title?: string;
  name?: string;
  description?: string;
}

const text255 = { type: "string", minLength: 1, maxLength: 255 } as const;

/**
 * Conversations and membership over REST. Each write is a command; the answer comes from the
 * processor's outcome, and a successful write returns 201/204 once the membership read model
 * shows it, so the members can join the conversation's channels right away (read-your-writes).
 * When the read model does not show it within `readYourWritesMs`, the answer is 202 with the
 * conversation's `Location`: decided, not yet readable. Non-members get 404 for a conversation,
 * as if it did not exist.
 *
 * A direct conversation's id derives from the workspace and its two members, so creating it
 * again (either of the two) is decided as the same conversation and answered 200 with it.
 * Sends (`POST …/messages`) are made as the socket's `message:send` makes them.
 */
export const conversationRoutes: FastifyPluginAsync<ConversationRoutesOptions> = async (app, options) => {
  const { bus, membership, rateLimiter, history } = options;

  const authenticate = guard(options.authenticate, rateLimiter);
  const waitMs = options.readYourWritesMs ?? 5_000;

  useRestErrors(app);

  app.post<{ Body: CreateBody }>(
    "/api/conversations",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
        body: {
          type: "object",
          required: ["type", "members"],
          additionalProperties: false,
          properties: {
            type: { type: "string", enum: ["direct", "group", "channel"] },
            members: { type: "array", items: id, maxItems: 1000, uniqueItems: true },
            title: text255,
            name: text255,
            description: { type: "string", maxLength: 2000 },
          },
        },
        response: {
          200: { ...conversation, description: "The direct conversation of this pair, which existed already" },
          201: { ...conversation, description: "Created, the caller its owner, and shown by the membership read model" },
          202: pending,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { type, title, name, description } = request.body;
      if (title !== undefined && name !== undefined && title !== name) throw invalid("title and name are one field: give one, or both the same");
      const key = request.headers["idempotency-key"];
      // A retried create with the same Idempotency-Key is the same command for the same id.
      const derived = typeof key === "string" && key !== "" ? digest(caller.userId, key) : undefined;
      const memberIds = request.body.members.filter((userId) => userId !== caller.userId);
      const [other] = memberIds;
      const conversationId =
        type === "direct" && memberIds.length === 1 && other !== undefined ? directConversationId(caller.workspaceId, caller.userId, other) : (derived ?? randomUUID());
      const command: CreateConversation = {
        meta: bus.meta(caller, derived),
        conversationId,
        type,
        title: title ?? name ?? null,
        description: description ?? null,
        memberIds,
      };
      const result = await bus.request("conversations", "CreateConversation", conversationId, command);
      const view = await until(waitMs, () => visibleTo(membership, conversationId, caller.userId));
      return view === undefined ? accepted(reply, conversationId) : reply.code(result.created === false ? 200 : 201).send(view);
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    "/api/conversations",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { limit: { type: "integer", minimum: 1, maximum: 100, default: 20 }, cursor: { type: "string", maxLength: 512 } },
        },
        response: {
          200: {
            description: "A page of the caller's conversations, newest activity first",
            type: "object",
            required: ["conversations", "nextCursor"],
            properties: { conversations: { type: "array", items: inboxEntry }, nextCursor: { type: ["string", "null"] } },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { limit, cursor } = request.query;
      // One more than asked tells whether another page follows.
      const entries = await options.inbox.inbox(caller.userId, caller.workspaceId, { limit: limit + 1, ...(cursor === undefined ? {} : { after: parseCursor(cursor) }) });
      const page = entries.slice(0, limit);
      const lastMessages = await Promise.all(page.map((entry) => (entry.lastSeq === 0 ? Promise.resolve([]) : history.messages(entry.id, { limit: 1, from: "newest" }))));
      return {
        conversations: page.map((entry, index) => {
          const [last] = lastMessages[index]!;
          return { ...withPosition(entry, entry), lastMessage: last === undefined ? null : messagePayload(last) };
        }),
        nextCursor: entries.length > limit ? cursorOf(page.at(-1)!) : null,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/conversations/:id",
    { schema: { tags: ["conversations"], security: bearerAuth, params: { type: "object", properties: { id } }, response: { 200: { ...readConversation, description: "The conversation with the caller's read position, for its members" }, ...errors } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const view = await membership.conversation(request.params.id);
      if (!view || view.workspaceId !== caller.workspaceId || !view.members.some((m) => m.userId === caller.userId)) {
        throw new ServiceError("not_found", "no such conversation");
      }
      const position = await options.readPositions.position(view.id, caller.userId);
      return withPosition(view, { ...position, activityAt: position.lastMessageAt ?? view.createdAt });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after_seq?: number; before_seq?: number; limit: number } }>(
    "/api/conversations/:id/messages",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
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
            description: "A page of messages in ascending seq",
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

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
    "/api/conversations/:id/messages",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
        params: { type: "object", properties: { id } },
        body: {
          type: "object",
          required: ["content"],
          additionalProperties: false,
          properties: {
            content: { type: "string" },
            type: { type: "string", enum: ["text", "image", "file", "audio", "video"] },
            clientMsgId: { type: "string", minLength: 1, maxLength: 128 },
            attachments: { type: "array", items: { type: "object", additionalProperties: true } },
            replyToMessageId: { type: "string", maxLength: 128 },
            mentionedUserIds: { type: "array", items: { type: "string" } },
            metadata: { type: "object", additionalProperties: { type: "string" } },
          },
        },
        response: {
          201: {
            description: "Sent (or, for a retry, the first send's answer)",
            type: "object",
            required: ["id", "seq"],
            properties: { id: { type: "string" }, seq: { type: "integer" }, sentAt: { type: "integer" } },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { id: conversationId } = request.params;
      const key = request.headers["idempotency-key"];
      const { clientMsgId } = request.body;
      if (typeof key === "string" && key !== "") {
        if (key.length > 128) throw invalid("Idempotency-Key must be at most 128 characters");
        if (clientMsgId !== undefined && clientMsgId !== key) throw invalid("Idempotency-Key and clientMsgId name one send: give one, or both the same");
      }
      // The key stands for the clientMsgId: a retry is the same command, whether it came over REST or the socket.
      const payload = { ...request.body, clientMsgId: clientMsgId ?? (typeof key === "string" && key !== "" ? key : null) };
      const command = sendMessageCommand(bus, conversationId, payload, caller);
      return reply.code(201).send(await bus.request("messages", "SendMessage", conversationId, command));
    },
  );

  app.post<{ Params: { id: string }; Body: { userId: string; role?: AddMember["role"] } }>(
    "/api/conversations/:id/members",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
        params: { type: "object", properties: { id } },
        body: {
          type: "object",
          required: ["userId"],
          additionalProperties: false,
          properties: { userId: id, role: { type: "string", enum: ["admin", "member"] } },
        },
        response: { 201: { ...conversation, description: "Added, and shown by the membership read model" }, 202: pending, ...errors },
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
      await bus.request("conversations", "AddMember", conversationId, command);
      const view = await until(waitMs, () => visibleTo(membership, conversationId, command.userId));
      return view === undefined ? accepted(reply, conversationId) : reply.code(201).send(view);
    },
  );

  app.delete<{ Params: { id: string; userId: string } }>(
    "/api/conversations/:id/members/:userId",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
        params: { type: "object", properties: { id, userId: id } },
        response: { 202: pending, 204: { description: "Removed (or left), and shown by the membership read model", type: "null" }, ...errors },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const { id: conversationId, userId } = request.params;
      const command: RemoveMember = { meta: bus.meta(caller), conversationId, userId };
      await bus.request("conversations", "RemoveMember", conversationId, command);
      const gone = await until(waitMs, async () => ((await membership.membership(conversationId, userId)).member ? undefined : true));
      return gone === undefined ? accepted(reply, conversationId) : reply.code(204).send();
    },
  );
};

/** 202: the write is decided (a retry changes nothing), the read model will show it at `Location`. */
function accepted(reply: FastifyReply, conversationId: string): FastifyReply {
  return reply.code(202).header("location", `/api/conversations/${encodeURIComponent(conversationId)}`).send({ id: conversationId, status: "pending" });
}

function present(view: ConversationView): Record<string, unknown> {
  return {
    id: view.id,
    type: view.type,
    title: view.title,
    name: view.title,
    createdBy: view.createdBy,
    createdAt: view.createdAt,
    members: view.members,
  };
}

/** The conversation with how far it has gone and the caller has read it (a read never counts past the last message). */
function withPosition(view: ConversationView, position: Pick<InboxEntry, "lastSeq" | "readSeq" | "activityAt">): Record<string, unknown> {
  return {
    ...present(view),
    lastSeq: position.lastSeq,
    readSeq: position.readSeq,
    unreadCount: Math.max(0, position.lastSeq - position.readSeq),
    lastActivityAt: position.activityAt,
  };
}

/** The opaque `nextCursor` after `entry`: where the next page of an inbox starts. */
function cursorOf(entry: InboxEntry): string {
  return Buffer.from(JSON.stringify([entry.activityAt, entry.id])).toString("base64url");
}

function parseCursor(cursor: string): InboxCursor {
  try {
    const [activityAt, conversationId] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (Number.isSafeInteger(activityAt) && typeof conversationId === "string") return { activityAt: activityAt as number, id: conversationId };
  } catch {
    // Not JSON: refused below like any cursor this API did not give.
  }
  throw invalid("cursor is not one a page of GET /api/conversations gave");
}

/** A direct conversation's id: the same for the same two people in a workspace, whoever creates it. */
function directConversationId(workspaceId: string, a: string, b: string): string {
  return derivedId("direct", workspaceId, ...[a, b].sort());
}

async function visibleTo(membership: MembershipReadModel, conversationId: string, userId: string) {
  if (!(await membership.membership(conversationId, userId)).member) return undefined;
  const view = await membership.conversation(conversationId);
  return view ? present(view) : undefined;
}


const digest = (userId: string, key: string): string => createHash("sha256").update(`${userId}\u0000${key}`).digest("hex").slice(0, 32);
