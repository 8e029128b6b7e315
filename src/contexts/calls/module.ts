import type { Logger } from "../../infra/log/logger.js";
import { LOCAL_COTURN, coturnSecret } from "../../infra/stack/stack.js";
import type { CoreConfig } from "../../platform/config/core-config.js";
import { defineContext } from "../../platform/context-module.js";
import { callsConfig, type CallsSettings } from "./config.js";
import type { IceServers } from "./ice-servers.js";
import { signalingRoutes } from "./routes.js";

/** The local stack's coturn as clients reach it: STUN and TURN on one port, TURN over UDP or TCP. */
const LOCAL_TURN_URIS = ["udp", "tcp"].map((transport) => `turn:${LOCAL_COTURN.host}:${LOCAL_COTURN.port}?transport=${transport}`);
const LOCAL_STUN_URIS = [`stun:${LOCAL_COTURN.host}:${LOCAL_COTURN.port}`];

/**
 * The ICE servers of these settings. The local stack's coturn is read from the stack's folder,
 * where its secret is kept: a stack this process brought up (QUIKCHAT_STACK=auto) must have one;
 * with the stack off and no coturn ever started there, clients get no TURN server.
 */
async function iceServersOf(settings: CallsSettings, stack: CoreConfig["stack"], logger: Logger): Promise<IceServers> {
  const { turn, stunServers, ttlSeconds } = settings;
  if (turn.kind !== "stack") return { stun: stunServers, turn, ttlSeconds };
  let secret: string;
  try {
    secret = await coturnSecret(stack.dir, LOCAL_COTURN.port);
  } catch (error) {
    if (stack.mode === "auto") throw error;
    logger.warn({ err: error }, "calls: no TURN server for clients (set TURN_SERVERS and TURN_SECRET)");
    return { stun: stunServers, turn: { kind: "none" }, ttlSeconds };
  }
  return { stun: stunServers.length > 0 ? stunServers : LOCAL_STUN_URIS, turn: { kind: "secret", servers: LOCAL_TURN_URIS, secret }, ttlSeconds };
}

/**
 * Calls. Built so far: the ICE servers a caller's WebRTC peers use (`/api/signaling/ice-config`,
 * `/api/signaling/turn-credentials`, credentials in coturn's REST-API scheme) and, with no TURN
 * server configured, the local stack's coturn. The call aggregate, its signaling and recordings
 * come later.
 */
export const calls = defineContext({
  name: "calls",
  config: callsConfig,
  localServers: (settings) => (settings.turn.kind === "stack" ? { coturn: LOCAL_COTURN } : {}),
  gateway: async (kit, settings) => {
    const ice = await iceServersOf(settings, kit.config.stack, kit.logger);
    kit.logger.info({ stun: ice.stun, turn: ice.turn.kind === "none" ? [] : ice.turn.servers, credentials: ice.turn.kind }, "calls: ICE servers");
    return {
      routes: async (app) => {
        await app.register(signalingRoutes, { ice, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
      },
    };
  },
});
