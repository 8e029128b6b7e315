import type { Logger } from "../../infra/log/logger.js";
import { LOCAL_COTURN, coturnSecret } from "../../infra/stack/stack.js";
import type { CoreConfig } from "../../platform/config/core-config.js";
import { defineContext } from "../../platform/context-module.js";
import { callsConfig, type CallsSettings } from "./config.js";
import type { IceServers } from "./ice-servers.js";
import { signalingRoutes } from "./routes.js";
import { TOPICS } from "../../platform/contract/topics.js";
import { MEMBERSHIP } from "../conversations/ports.js";
import { CallActions } from "./channels/call-actions.js";
import { SIGNAL_EVENTS, callFamily, callsUserPart, lobbyFamily } from "./channels/call-channels.js";
import { liveCallGauges } from "./metrics.js";
import { callProcessor } from "./processor.js";
import { startLiveCallsProjection } from "./projections/live-calls/live-calls-projection.js";
import { LiveCallsReadModel } from "./projections/live-calls/live-calls-read-model.js";
import { LIVE_CALLS_PROJECTION, RedisLiveCallsStore } from "./projections/live-calls/redis-live-calls-store.js";
import { SIGNAL_RELAY, signalRelayStore, startSignalRelay } from "./projections/signal-relay/signal-relay.js";

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
 * Calls: one aggregate per call with its signals (`quikapp.calls.*`, `quikapp.signaling.*`) and
 * its ringing and maximum-duration timers; the `live-calls` read model in Redis, which pushes the
 * calls' changes to users' sockets, and the `signal-relay`, which delivers signals;
 * `webrtc:lobby`, `call:{callId}` and the calls' part of `user:{userId}`; the ICE servers a
 * caller's WebRTC peers use (`/api/signaling/ice-config`, `/api/signaling/turn-credentials`,
 * credentials in coturn's REST-API scheme) and, with no TURN server configured, the local
 * stack's coturn. Recordings' media and the calls' REST routes come later.
 */
export const calls = defineContext({
  name: "calls",
  config: callsConfig,
  localServers: (settings) => (settings.turn.kind === "stack" ? { coturn: LOCAL_COTURN } : {}),
  rateLimits: (settings) => [{ name: "signals", perMinute: settings.signalsPerMinute, events: SIGNAL_EVENTS }],
  processors: (settings) => [callProcessor({ ringingTimeoutMs: settings.ringingTimeoutMs, maxDurationMs: settings.maxDurationMs })],
  projections: (kit) => {
    const { config, codec, redis, logger, metrics, registry } = kit;
    const prefix = config.kafka.topicPrefix;
    const deps = { config, codec, redis, logger, metrics, registry };
    return [
      {
        name: LIVE_CALLS_PROJECTION,
        topic: TOPICS.calls.events,
        store: () => new RedisLiveCallsStore(kit.redisConnection("live-calls-store"), prefix),
        start: () => startLiveCallsProjection(deps),
      },
      {
        name: SIGNAL_RELAY,
        topic: TOPICS.signaling.events,
        store: () => signalRelayStore(kit.redisConnection("signal-relay-store"), prefix),
        start: () => startSignalRelay(deps),
      },
    ];
  },
  gateway: async (kit, settings) => {
    const ice = await iceServersOf(settings, kit.config.stack, kit.logger);
    kit.logger.info({ stun: ice.stun, turn: ice.turn.kind === "none" ? [] : ice.turn.servers, credentials: ice.turn.kind }, "calls: ICE servers");
    const topicPrefix = kit.config.kafka.topicPrefix;
    const liveCalls = new LiveCallsReadModel(kit.redis, topicPrefix);
    liveCallGauges(kit.registry, liveCalls);
    const actions = new CallActions({ bus: kit.bus, calls: liveCalls, redis: kit.redis, topicPrefix, ice, membership: () => kit.ports.find(MEMBERSHIP) });
    const channels = { actions, calls: liveCalls, hub: kit.hub, topicPrefix, logger: kit.logger };
    return {
      families: [lobbyFamily(channels), callFamily(channels)],
      userChannel: callsUserPart(channels),
      lookups: [{ id: "call", title: "A call", keyName: "call id", read: async (callId) => (await liveCalls.call(callId)) ?? null }],
      stats: async () => ({ active_calls: await liveCalls.activeCalls() }),
      routes: async (app) => {
        await app.register(signalingRoutes, { ice, authenticate: kit.authenticate, rateLimiter: kit.rateLimiter });
      },
    };
  },
});
