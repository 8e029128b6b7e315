import { z } from "zod";
import { defineSlice, positiveInt, type SettingsOf } from "../../platform/config/config-slice.js";
import { DEFAULT_MAX_WORKSPACE_SERIES } from "./online-users-gauge.js";

/** The presence context's configuration. */
export const presenceConfig = defineSlice({
  name: "presence",
  variables: {
    PRESENCE_GATEWAY_HEARTBEAT_MS: positiveInt.default(5_000),
    PRESENCE_GATEWAY_STALE_MS: positiveInt.default(15_000),
    PRESENCE_SWEEP_INTERVAL_MS: positiveInt.default(5_000),
    PRESENCE_CONNECTION_TTL_MS: positiveInt.default(900_000),
    PRESENCE_DIFF_INTERVAL_MS: positiveInt.default(100),
    PRESENCE_METRICS_MAX_WORKSPACES: positiveInt.default(DEFAULT_MAX_WORKSPACE_SERIES),
    PRESENCE_RECONNECT_GRACE_MS: z.coerce.number().int().nonnegative().default(10_000),
  },
  problems: (env) =>
    env.PRESENCE_GATEWAY_STALE_MS <= env.PRESENCE_GATEWAY_HEARTBEAT_MS
      ? ["PRESENCE_GATEWAY_STALE_MS: must exceed PRESENCE_GATEWAY_HEARTBEAT_MS, or live gateways are swept"]
      : [],
  settings: (env) => ({
    /** How often each gateway writes its liveness to Redis. */
    gatewayHeartbeatMs: env.PRESENCE_GATEWAY_HEARTBEAT_MS,
    /** A gateway whose liveness is older than this is dead: the sweeper closes its connections. */
    gatewayStaleMs: env.PRESENCE_GATEWAY_STALE_MS,
    /** How often gateways look for dead gateways. */
    sweepIntervalMs: env.PRESENCE_SWEEP_INTERVAL_MS,
    /** A connection not refreshed for this long expires (the processor's staleness timer); gateways refresh theirs well before. */
    connectionTtlMs: env.PRESENCE_CONNECTION_TTL_MS,
    /** presence_diff pushes are batched per workspace over this window (the first change after a quiet window goes out at once). */
    diffIntervalMs: env.PRESENCE_DIFF_INTERVAL_MS,
    /** Workspaces with a presence_online_users series of their own in a projector; the others are summed (see OnlineUsersGauge). */
    metricsMaxWorkspaces: env.PRESENCE_METRICS_MAX_WORKSPACES,
    /** A socket closed because its token expired keeps its connection this long, for the client's reconnect (0: none). */
    reconnectGraceMs: env.PRESENCE_RECONNECT_GRACE_MS,
  }),
});

export type PresenceSettings = SettingsOf<typeof presenceConfig>;
