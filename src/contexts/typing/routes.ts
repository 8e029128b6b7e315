import type { FastifyPluginAsync } from "fastify";
import { ServiceError } from "../../platform/errors/error-codes.js";
import type { ActionRateLimiter } from "../../platform/phoenix/action-rate-limiter.js";
import { bearerAuth, errorResponses, guard, idSchema, useRestErrors, type Authenticate } from "../../platform/gateway/rest-support.js";
import type { MembershipCheck } from "../conversations/channels/conversation-family.js";

/** What the typing routes read. */
export interface TypingRoutesOptions {
  readonly typing: { typingUsers(conversationId: string, now: number): Promise<{ user_id: string; expires_at: number }[]> };
  readonly membership: MembershipCheck;
  readonly authenticate: Authenticate;
  readonly rateLimiter?: ActionRateLimiter;
}

/** Who is typing in a conversation, over REST: members only (404 otherwise, as if it did not exist). */
export const typingRoutes: FastifyPluginAsync<TypingRoutesOptions> = async (app, options) => {
  const authenticate = guard(options.authenticate, options.rateLimiter);
  useRestErrors(app);

  app.get<{ Params: { conversation_id: string } }>(
    "/api/presence/typing/:conversation_id",
    {
      schema: {
        tags: ["typing"],
        security: bearerAuth,
        params: { type: "object", required: ["conversation_id"], properties: { conversation_id: idSchema } },
        response: {
          200: {
            description: "Who is typing in the conversation, and until when",
            type: "object",
            properties: {
              conversation_id: { type: "string" },
              users: { type: "array", items: { type: "object", properties: { user_id: { type: "string" }, expires_at: { type: "integer" } } } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      const conversationId = request.params.conversation_id;
      if (!(await options.membership.isMember(conversationId, caller.userId, caller.workspaceId))) {
        throw new ServiceError("not_found", "no such conversation");
      }
      return { conversation_id: conversationId, users: await options.typing.typingUsers(conversationId, Date.now()) };
    },
  );
};
