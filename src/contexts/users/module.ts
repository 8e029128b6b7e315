import { defineContext } from "../../platform/context-module.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { TOKEN_REVOCATIONS } from "../../platform/gateway/token-revocations.js";
import { sessionsProcessor } from "./processor.js";
import { RedisProfilesStore, USERS_PROJECTION } from "./projections/profiles/redis-profiles-store.js";
import { startUpstreamUsersProjection } from "./projections/profiles/upstream-users-projection.js";
import { RedisSessionsStore, SESSIONS_PROJECTION } from "./projections/sessions/redis-sessions-store.js";
import { sessionKeys } from "./projections/sessions/sessions-model.js";
import { startSessionsProjection } from "./projections/sessions/sessions-projection.js";
import { SessionsReadModel } from "./projections/sessions/sessions-read-model.js";
import { userServerMethods } from "./server-methods.js";
import { sessionCommands } from "./session-commands.js";
import { enforceSessions } from "./session-enforcer.js";
import { userTools } from "./tools.js";

/**
 * Users as this service sees them: the upstream user service's events (`quikapp.users.events`:
 * the users read model, and a deleted user disconnected everywhere and out of its
 * conversations, through commands), what it does to a user's live connections and tokens
 * (`quikapp.sessions.*`: disconnect everywhere, token revocation, refresh of a connection's
 * authentication; one aggregate per user), the revocations the gateways' authentication
 * consults, and the gateways' part that closes or extends sockets.
 *
 * Why its own commands topic beside the upstream `quikapp.users.events`: that topic belongs to
 * the user service (we only read it), while disconnects and revocations are decisions of this
 * service, taken from several sources (operators, backends, upstream deletions), which need an
 * aggregate of their own to stay monotonic and to survive restarts and replays.
 */
export const users = defineContext({
  name: "users",
  // The upstream users projection reads the conversations' memberships (MySQL) of a deleted user.
  dependencies: () => ["mysql"],
  processors: () => [sessionsProcessor],
  projections: (kit) => {
    const { config, codec, redis, logger, metrics, registry } = kit;
    return [
      {
        name: USERS_PROJECTION,
        topic: TOPICS.users.events,
        store: () => new RedisProfilesStore(kit.redisConnection("users-store"), config.kafka.topicPrefix),
        start: () => startUpstreamUsersProjection({ config, codec, logger, metrics, registry, pool: kit.pool }),
      },
      {
        name: SESSIONS_PROJECTION,
        topic: TOPICS.sessions.events,
        store: () => new RedisSessionsStore(kit.redisConnection("sessions-store"), config.kafka.topicPrefix),
        start: () => startSessionsProjection({ config, codec, redis, logger, metrics, registry }),
      },
    ];
  },
  gateway: async (kit) => {
    const prefix = kit.config.kafka.topicPrefix;
    const revocations = new SessionsReadModel(kit.redis, prefix);
    kit.ports.provide(TOKEN_REVOCATIONS, revocations);
    const sessions = sessionCommands(kit.bus);
    const stop = await enforceSessions(kit.hub, sessionKeys(prefix).deltas, kit.connections, revocations, kit.logger.child({ component: "session-enforcer" }));
    return { serverMethods: userServerMethods(sessions), close: async () => stop() };
  },
  tools: userTools,
});
