import type { FastifyPluginAsync } from "fastify";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { bearerAuth, errorBody, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import type { Caller, HuddleActions } from "./channels/huddle-actions.js";
import { MAX_INVITEES, MAX_TITLE, arrivalOf, createPayload } from "./channels/huddle-payloads.js";

/** What the huddle routes use. */
export interface HuddleRoutesOptions {
  readonly actions: HuddleActions;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

const userIds = { type: "array", items: idSchema, maxItems: MAX_INVITEES, uniqueItems: true } as const;
const nullableString = { type: ["string", "null"] } as const;
const media = {
  audio: { type: "boolean", description: "Microphone on when arriving (default true)" },
  video: { type: "boolean", description: "Camera on when arriving (default false)" },
} as const;

/** A huddle as the routes answer it (see `huddleView`). */
const huddle = {
  type: "object",
  required: ["huddleId", "conversationId", "title", "createdBy", "status", "createdAt", "endReason", "invited", "participants"],
  properties: {
    huddleId: { type: "string" },
    conversationId: { ...nullableString, description: "The conversation whose members may join it; null for a standalone huddle" },
    title: nullableString,
    createdBy: { type: "string" },
    status: { type: "string", enum: ["live", "ended"] },
    createdAt: { type: "integer", description: "Epoch milliseconds" },
    endReason: { type: ["string", "null"], enum: ["ended", "empty", null], description: "Why it ended: its creator ended it, or the last participant left" },
    invited: { type: "array", items: { type: "string" }, description: "Everyone invited besides the conversation's members" },
    participants: {
      type: "array",
      description: "Who is in it now, by user id, with their media state",
      items: {
        type: "object",
        required: ["userId", "audio", "video", "screen", "handRaised", "joinedAt"],
        properties: {
          userId: { type: "string" },
          audio: { type: "boolean", description: "Microphone on" },
          video: { type: "boolean", description: "Camera on" },
          screen: { type: "boolean", description: "Sharing their screen (one participant at most)" },
          handRaised: { type: "boolean" },
          joinedAt: { type: "integer", description: "Epoch milliseconds" },
        },
      },
    },
  },
} as const;

/** The responses of a route about one huddle: not the caller's, or gone, is 404. */
const huddleErrors = {
  ...errorResponses,
  404: errorBody("No such huddle, ended over an hour ago, of another workspace, or one that does not involve the caller (not_found, not_a_member, not_a_participant)"),
};

interface HuddleParams {
  huddle_id: string;
}

const params = { type: "object", required: ["huddle_id"], properties: { huddle_id: idSchema } } as const;

/**
 * Huddles over REST (seed 000), for the users a huddle involves (its creator, invitees,
 * participants, its conversation's members; anyone else, an unknown huddle, one ended over an
 * hour ago or of another workspace: 404): `POST /api/huddles`, `GET /api/huddles/:huddle_id`,
 * `POST …/invite`, `POST …/join`, `POST …/leave`, and `GET /api/conversations/:id/huddle`. Each
 * is the same {@link HuddleActions} method as the socket's event. A REST join makes the caller a
 * participant with no connection (a client that takes part without this service's socket, e.g.
 * one in another service's media session): presence cannot lose it, so it stays until it leaves
 * (`POST …/leave`) or the huddle ends; a later join from a socket moves it to that connection.
 */
export const huddleRoutes: FastifyPluginAsync<HuddleRoutesOptions> = async (app, options) => {
  const { actions } = options;
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.post<{ Body: Record<string, unknown> }>(
    "/api/huddles",
    {
      schema: {
        tags: ["huddles"],
        security: bearerAuth,
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            conversationId: { ...idSchema, description: "Start it in this conversation (members only); its members may join" },
            inviteeIds: { ...userIds, description: "Users of the caller's workspace invited; a huddle without a conversation needs one" },
            title: { type: "string", maxLength: MAX_TITLE },
            ...media,
          },
        },
        response: {
          201: {
            description: "Started, with the caller in it (without a connection: see the join route)",
            type: "object",
            required: ["huddleId", "created"],
            properties: { huddleId: { type: "string" }, created: { type: "boolean", enum: [true] } },
          },
          200: {
            description: "The conversation already has a live huddle: its id (join it)",
            type: "object",
            required: ["huddleId", "created"],
            properties: { huddleId: { type: "string" }, created: { type: "boolean", enum: [false] } },
          },
          ...errorResponses,
          404: errorBody("No such conversation of the caller's, or an invitee who is not a user of the caller's workspace (not_a_member, not_found)"),
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const answer = await actions.create(caller, null, createPayload(request.body));
      return reply.code(answer.created === true ? 201 : 200).send(answer);
    },
  );

  /** A route about one huddle: `/api/huddles/:huddle_id<path>`, answered with what `act` resolves. */
  function huddleRoute<Body = unknown>(
    method: "GET" | "POST",
    path: string,
    schema: { readonly body?: Record<string, unknown>; readonly response: Record<number, unknown> },
    act: (caller: Caller, huddleId: string, body: Body) => Promise<Record<string, unknown>>,
  ): void {
    app.route<{ Params: HuddleParams; Body: Body }>({
      method,
      url: `/api/huddles/:huddle_id${path}`,
      schema: { tags: ["huddles"], security: bearerAuth, params, ...schema },
      handler: async (request, reply) => {
        const caller = await authenticate(request, reply);
        return act(caller, request.params.huddle_id, request.body as Body);
      },
    });
  }

  huddleRoute(
    "GET",
    "",
    { response: { 200: { ...huddle, description: "The huddle (live, or ended within the hour) and its participants with their media state" }, ...huddleErrors } },
    (caller, huddleId) => actions.read(caller, huddleId),
  );

  huddleRoute<{ userIds: string[] }>(
    "POST",
    "/invite",
    {
      body: { type: "object", required: ["userIds"], additionalProperties: false, properties: { userIds: { ...userIds, minItems: 1 } } },
      response: {
        200: {
          description: "Invited: the users newly invited (those invited before, in it, or its creator are left out); participants only",
          type: "object",
          required: ["huddleId", "invited"],
          properties: { huddleId: { type: "string" }, invited: { type: "array", items: { type: "string" } } },
        },
        ...huddleErrors,
        409: errorBody("The huddle has ended (conflict)"),
      },
    },
    (caller, huddleId, body) => actions.invite(caller, huddleId, body.userIds),
  );

  huddleRoute<Record<string, unknown> | undefined>(
    "POST",
    "/join",
    {
      body: { type: ["object", "null"], additionalProperties: false, properties: media },
      response: {
        200: { ...huddle, description: "In it, as a participant without a connection (until a leave, the huddle's end, or a join from a socket)" },
        ...huddleErrors,
        409: errorBody("The huddle has ended (conflict), or holds HUDDLE_MAX_PARTICIPANTS (huddle_full, temporary)"),
      },
    },
    (caller, huddleId, body) => actions.join(caller, huddleId, null, arrivalOf(body ?? {})),
  );

  huddleRoute(
    "POST",
    "/leave",
    {
      response: {
        200: { description: "Out of it, whatever their connection (already out: the same)", type: "object", required: ["huddleId"], properties: { huddleId: { type: "string" } } },
        ...huddleErrors,
      },
    },
    (caller, huddleId) => actions.leave(caller, huddleId, null),
  );

  app.get<{ Params: { id: string } }>(
    "/api/conversations/:id/huddle",
    {
      schema: {
        tags: ["huddles"],
        security: bearerAuth,
        params: { type: "object", required: ["id"], properties: { id: idSchema } },
        response: {
          200: { ...huddle, description: "The conversation's live huddle and its participants" },
          ...errorResponses,
          404: errorBody("No such conversation of the caller's, or it has no live huddle (not_a_member, not_found)"),
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      return actions.ofConversation(caller, request.params.id);
    },
  );
};
