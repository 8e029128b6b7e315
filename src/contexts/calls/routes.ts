import type { FastifyPluginAsync } from "fastify";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { bearerAuth, errorBody, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import type { CallActions, Caller } from "./channels/call-actions.js";
import { MAX_CALLEES } from "./channels/call-payloads.js";
import { iceConfig, turnCredentialsFor, type IceServers } from "./ice-servers.js";

/** What the signaling routes read. */
export interface SignalingRoutesOptions {
  readonly ice: IceServers;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

const urls = { type: "array", items: { type: "string" } } as const;
const iceServers = {
  type: "array",
  items: { type: "object", required: ["urls"], properties: { urls, username: { type: "string" }, credential: { type: "string" } } },
} as const;

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
              iceServers,
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

/** What the call routes use. */
export interface CallRoutesOptions {
  readonly actions: CallActions;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

interface CallParams {
  call_id: string;
}

const params = { type: "object", required: ["call_id"], properties: { call_id: idSchema } } as const;
const userIds = { type: "array", items: { type: "string" } } as const;
const epochMs = { type: ["integer", "null"], description: "Epoch milliseconds" } as const;
const nullableString = { type: ["string", "null"] } as const;
/** The responses of a route about one call: not the caller's, or gone, is 404. */
const callErrors = {
  ...errorResponses,
  404: errorBody("No such call, ended over an hour ago, of another workspace, or one the caller was never part of (not_found, not_a_member)"),
};
const participant = {
  type: "object",
  required: ["userId", "status", "invitedAt", "joinedAt", "leftAt", "rejectReason"],
  properties: {
    userId: { type: "string" },
    status: { type: "string", enum: ["joined", "ringing", "left", "rejected"] },
    invitedAt: { ...epochMs, description: "When the call last rang them (null: the caller)" },
    joinedAt: { ...epochMs, description: "When they last came into the call" },
    leftAt: { ...epochMs, description: "When they last left or stopped ringing; null while in the call or ringing" },
    rejectReason: { type: ["string", "null"], enum: ["declined", "busy", "no_answer", null], description: "Why they stopped ringing, while rejected" },
  },
} as const;

/**
 * One call over REST, for its parties only (anyone it involved; anyone else, an unknown call,
 * one ended over an hour ago or of another workspace: 404): `POST …/invite`, `GET
 * …/participants`, `GET …/ice-servers`, and the recording's `POST …/recording/start`, `POST
 * …/recording/stop`, `GET …/recording/status`. Each is the same {@link CallActions} method as the
 * socket's event; writes answer once the live-calls read model shows them.
 */
export const callRoutes: FastifyPluginAsync<CallRoutesOptions> = async (app, options) => {
  const { actions } = options;
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  /** A route about one call: `/api/calls/:call_id<path>`, answered with `status` and what `act` resolves. */
  function callRoute<Body = unknown>(
    method: "GET" | "POST",
    path: string,
    schema: { readonly body?: Record<string, unknown>; readonly response: Record<number, unknown> },
    act: (caller: Caller, callId: string, body: Body) => Promise<Record<string, unknown>>,
    status = 200,
  ): void {
    app.route<{ Params: CallParams; Body: Body }>({
      method,
      url: `/api/calls/:call_id${path}`,
      schema: { tags: ["calls"], security: bearerAuth, params, ...schema },
      handler: async (request, reply) => {
        const caller = await authenticate(request, reply);
        return reply.code(status).send(await act(caller, request.params.call_id, request.body as Body));
      },
    });
  }

  callRoute<{ userIds: string[] }>(
    "POST",
    "/invite",
    {
      body: {
        type: "object",
        required: ["userIds"],
        additionalProperties: false,
        properties: { userIds: { type: "array", items: idSchema, minItems: 1, maxItems: MAX_CALLEES, uniqueItems: true } },
      },
      response: {
        200: {
          description:
            "Rung: the users now ringing (of the caller's workspace, members of the call's conversation if it has one), and those in another call, who are not rung (busy). Users already in the call or ringing are in neither",
          type: "object",
          required: ["callId", "invited", "busy"],
          properties: { callId: { type: "string" }, invited: userIds, busy: userIds },
        },
        ...callErrors,
        409: errorBody("The call has ended (conflict)"),
      },
    },
    (caller, callId, body) => actions.invite(caller, callId, body.userIds),
  );

  callRoute(
    "GET",
    "/participants",
    {
      response: {
        200: {
          description: "The call (live, or ended within the hour) and everyone it involved, by user id, with their status and times",
          type: "object",
          required: ["callId", "type", "callerId", "conversationId", "status", "startedAt", "answeredAt", "endedAt", "endReason", "participants"],
          properties: {
            callId: { type: "string" },
            type: { type: "string", enum: ["audio", "video"] },
            callerId: { type: "string" },
            conversationId: nullableString,
            status: { type: "string", enum: ["ringing", "active", "ended"] },
            startedAt: { type: "integer" },
            answeredAt: epochMs,
            endedAt: epochMs,
            endReason: nullableString,
            participants: { type: "array", items: participant },
          },
        },
        ...callErrors,
      },
    },
    (caller, callId) => actions.participants(caller, callId),
  );

  callRoute(
    "GET",
    "/ice-servers",
    {
      response: {
        200: {
          description: "The caller's ICE configuration for this call, as /api/signaling/ice-config gives it; ask again within ttl seconds",
          type: "object",
          required: ["callId", "iceServers", "ttl"],
          properties: { callId: { type: "string" }, iceServers, ttl: { type: "integer" } },
        },
        ...callErrors,
        409: errorBody("The call has ended (conflict)"),
      },
    },
    (caller, callId) => actions.iceServers(caller, callId),
  );

  const recording = { callId: { type: "string" }, recordingId: { type: "string" } } as const;

  callRoute(
    "POST",
    "/recording/start",
    {
      response: {
        201: { description: "Recording, under the id the service chose", type: "object", required: ["callId", "recordingId"], properties: recording },
        ...callErrors,
        409: errorBody("The call is not active (still ringing, or ended), or a recording already runs (conflict)"),
      },
    },
    (caller, callId) => actions.startRecording(caller, callId),
    201,
  );

  callRoute(
    "POST",
    "/recording/stop",
    {
      response: {
        200: { description: "Stopped: the recording that ran", type: "object", required: ["callId", "recordingId"], properties: recording },
        ...callErrors,
        409: errorBody("No recording of the call is running (conflict)"),
      },
    },
    (caller, callId) => actions.stopRecording(caller, callId),
  );

  callRoute(
    "GET",
    "/recording/status",
    {
      response: {
        200: {
          description: "Whether a recording of the call runs, its id, who started it and when (nulls when none runs)",
          type: "object",
          required: ["callId", "recording", "recordingId", "startedBy", "startedAt"],
          properties: { callId: { type: "string" }, recording: { type: "boolean" }, recordingId: nullableString, startedBy: nullableString, startedAt: epochMs },
        },
        ...callErrors,
      },
    },
    (caller, callId) => actions.recordingStatus(caller, callId),
  );
};
