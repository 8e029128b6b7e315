import type { FastifyPluginAsync } from "fastify";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import type { StatusSetter, UserPresenceReader } from "./channels/presence-channels.js";
import { bearerAuth, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";

/** What the presence routes read. */
export interface PresenceRoutesOptions {
  readonly presence: UserPresenceReader & {
    onlineUsers(workspaceId: string): Promise<{ user_id: string; status: string; online_at: number }[]>;
  };
  readonly setStatus: StatusSetter;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

const presence = {
  type: "object",
  required: ["user_id", "workspace_id", "status", "chosen_status", "status_text", "device_count", "last_seen", "online_at", "devices"],
  properties: {
    user_id: { type: "string" },
    workspace_id: { type: "string" },
    status: { type: "string" },
    chosen_status: { type: "string" },
    status_text: { type: ["string", "null"] },
    device_count: { type: "integer" },
    last_seen: { type: ["integer", "null"] },
    online_at: { type: ["integer", "null"] },
    devices: {
      type: "array",
      items: {
        type: "object",
        properties: { connection_id: { type: "string" }, device: { type: ["string", "null"] }, platform: { type: "string" }, online_at: { type: "integer" } },
      },
    },
  },
} as const;

/**
 * Presence over REST, for the caller's workspace only: one user's presence (a user of another
 * workspace is 404, as if unknown), the workspace's online users, and `PUT /api/presence/status`
 * to set the caller's status.
 */
export const presenceRoutes: FastifyPluginAsync<PresenceRoutesOptions> = async (app, options) => {
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.get(
    "/api/presence/online",
    {
      schema: {
        tags: ["presence"],
        security: bearerAuth,
        response: {
          200: {
            description: "The users the caller's workspace sees online",
            type: "object",
            properties: {
              workspace_id: { type: "string" },
              count: { type: "integer" },
              users: {
                type: "array",
                items: { type: "object", properties: { user_id: { type: "string" }, status: { type: "string" }, online_at: { type: "integer" } } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const users = await options.presence.onlineUsers(caller.workspaceId);
      return { workspace_id: caller.workspaceId, count: users.length, users };
    },
  );

  app.put<{ Body: { status: string; status_text?: string | null } }>(
    "/api/presence/status",
    {
      schema: {
        tags: ["presence"],
        security: bearerAuth,
        body: {
          type: "object",
          required: ["status"],
          additionalProperties: false,
          properties: { status: { type: "string", enum: ["online", "away", "dnd", "offline"] }, status_text: { type: ["string", "null"], maxLength: 100 } },
        },
        response: {
          200: {
            description: "The caller's status as set (offline: appear offline while connected)",
            type: "object",
            properties: { status: { type: "string" }, status_text: { type: ["string", "null"] } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      return options.setStatus(caller, request.body);
    },
  );

  app.get<{ Params: { user_id: string } }>(
    "/api/presence/:user_id",
    {
      schema: {
        tags: ["presence"],
        security: bearerAuth,
        params: { type: "object", required: ["user_id"], properties: { user_id: idSchema } },
        response: { 200: { ...presence, description: "The user's presence as the caller's workspace sees it" }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const found = await options.presence.userPresence(request.params.user_id);
      if (found.workspace_id !== caller.workspaceId) throw new ServiceError("not_found", "no such user");
      return found;
    },
  );
};
