import { SERVER_ACTOR, type ServerMethod } from "../../platform/gateway/server-api/server-method.js";
import type { UserSessions } from "./session-commands.js";

const user = { type: "string", minLength: 1, maxLength: 128, description: "The user (its tokens' sub)" } as const;
const workspace = { type: "string", minLength: 1, maxLength: 128, default: "default", description: "The user's workspace, recorded in the command and its event" } as const;

/**
 * The users context's methods of the server API: `disconnect` and `refresh` (gRPC
 * `DisconnectUser`, `RefreshConnection`), over {@link UserSessions}: commands decided by the
 * sessions processor, carried out by every gateway.
 */
export function userServerMethods(sessions: UserSessions): ServerMethod[] {
  const by = (params: Record<string, unknown>) => ({ userId: SERVER_ACTOR, workspaceId: typeof params.workspace_id === "string" ? params.workspace_id : "default" });
  return [
    {
      name: "disconnect",
      grpc: "DisconnectUser",
      description:
        "Closes every socket of the user on every gateway (close code 4003, after which clients reconnect). With revoke_tokens, the user's tokens issued before now are refused on connect, on REST and on in-band refreshes until they expire, so the client cannot reconnect before it has a newer token",
      params: {
        type: "object",
        required: ["user"],
        additionalProperties: false,
        properties: { user, workspace_id: workspace, revoke_tokens: { type: "boolean", default: false } },
      },
      result: {
        type: "object",
        properties: { tokens_revoked_before: { type: "integer", nullable: true, description: "Epoch ms before which the user's tokens are refused; null when none are" } },
      },
      async call(params) {
        const { tokensRevokedBefore } = await sessions.disconnect({ userId: params.user as string, revokeTokens: params.revoke_tokens === true, by: by(params) });
        return { tokens_revoked_before: tokensRevokedBefore };
      },
      toGrpc: (result) => (result.tokens_revoked_before === null ? {} : result),
    },
    {
      name: "refresh",
      grpc: "RefreshConnection",
      description:
        "Moves the end of the authentication of the user's live connections (one, with client; else every one) to expire_at: each is closed with 4001 then instead of at its token's exp, unless its client refreshes its token in band first. An instant in the past closes them at once",
      params: {
        type: "object",
        required: ["user", "expire_at"],
        additionalProperties: false,
        properties: {
          user,
          workspace_id: workspace,
          client: { type: "string", minLength: 1, maxLength: 128, description: "One connection of the user (its connection id); every one when absent" },
          expire_at: { type: "integer", minimum: 0, description: "Unix seconds" },
        },
      },
      result: { type: "object", properties: {} },
      async call(params) {
        await sessions.refresh({
          userId: params.user as string,
          connectionId: typeof params.client === "string" ? params.client : null,
          expiresAt: (params.expire_at as number) * 1000,
          by: by(params),
        });
        return {};
      },
    },
  ];
}
