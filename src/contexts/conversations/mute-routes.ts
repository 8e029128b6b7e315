import type { FastifyPluginAsync } from "fastify";
import type { SetConversationMute } from "../../platform/contract/generated/avro-types.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { CommandBus } from "../../platform/gateway/command-bus.js";
import { bearerAuth, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import type { MembershipCheck } from "./channels/conversation-family.js";
import type { ConversationMutes } from "./ports.js";

/** What the mute routes use. */
export interface MuteRoutesOptions {
  readonly bus: CommandBus;
  readonly membership: MembershipCheck;
  readonly mutes: ConversationMutes;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

const params = { type: "object", required: ["id"], properties: { id: idSchema } } as const;
const settingSchema = {
  type: "object",
  required: ["conversationId", "muted", "until"],
  properties: {
    conversationId: { type: "string" },
    muted: { type: "boolean", description: "true: the caller gets no notification (push, email) for this conversation's messages; its sockets still get them" },
    until: { type: ["integer", "null"], description: "epoch milliseconds when the mute ends by itself; null: until unmuted" },
  },
} as const;

/**
 * A member's notification setting for one conversation (members only; anyone else, another
 * workspace, an unknown conversation: 404):
 *
 * - `PUT /api/conversations/:id/notifications {muted, until?}`: mutes (until `until`, epoch
 *   milliseconds in the future, or until unmuted) or unmutes; answered once the conversation's
 *   processor decided (`SetConversationMute` → `ConversationMuteSet`). Leaving the conversation
 *   drops the setting.
 * - `GET /api/conversations/:id/notifications`: the caller's setting (the `mutes` read model;
 *   an ended mute reads `muted: false`).
 */
export const muteRoutes: FastifyPluginAsync<MuteRoutesOptions> = async (app, options) => {
  const { bus, membership, mutes } = options;
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.put<{ Params: { id: string }; Body: { muted: boolean; until?: number | null } }>(
    "/api/conversations/:id/notifications",
    {
      schema: {
        tags: ["conversations"],
        security: bearerAuth,
        params,
        body: {
          type: "object",
          required: ["muted"],
          additionalProperties: false,
          properties: { muted: { type: "boolean" }, until: { type: ["integer", "null"], minimum: 0, description: "epoch milliseconds, in the future; only with muted: true" } },
        },
        response: { 200: { ...settingSchema, description: "The caller's setting, as decided" }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const conversationId = request.params.id;
      const { muted } = request.body;
      const until = request.body.until ?? null;
      if (!muted && until !== null) throw new ServiceError("invalid", "until: only with muted: true");
      const command: SetConversationMute = { meta: bus.meta({ ...caller, correlationId: request.id }), conversationId, userId: caller.userId, muted, mutedUntil: until };
      const result = await bus.request("conversations", "SetConversationMute", conversationId, command);
      return { conversationId, muted: result.muted === true, until: typeof result.mutedUntil === "number" ? result.mutedUntil : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/conversations/:id/notifications",
    { schema: { tags: ["conversations"], security: bearerAuth, params, response: { 200: { ...settingSchema, description: "The caller's setting now" }, ...errorResponses } } },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const conversationId = request.params.id;
      if (!(await membership.isMember(conversationId, caller.userId, caller.workspaceId))) throw new ServiceError("not_found", "no such conversation");
      return { conversationId, ...(await mutes.muteOf(conversationId, caller.userId, Date.now())) };
    },
  );
};
