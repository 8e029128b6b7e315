import { Counter, Gauge, type Registry } from "prom-client";
import { shared } from "../../infra/metrics/service-metrics.js";

/** Presence commands a gateway issued: connect, disconnect, heartbeat, status, sweep (a dead gateway's user expired). */
export function presenceOperations(registry: Registry): Counter<"operation"> {
  return shared(
    registry,
    "presence_tracking_operations_total",
    () =>
      new Counter({
        name: "presence_tracking_operations_total",
        help: "Presence commands issued by the gateway, by operation (connect, disconnect, heartbeat, join_topic, leave_topic, status, sweep)",
        labelNames: ["operation"],
        registers: [registry],
      }),
  );
}

/**
 * Users each workspace sees online: ZCARD of `presence:online:<workspaceId>`, set by the projector
 * after every batch that touched the workspace, through an `OnlineUsersGauge` (bounded series).
 */
export function onlineUsersGauge(registry: Registry): Gauge<"workspace_id"> {
  return shared(
    registry,
    "presence_online_users",
    () =>
      new Gauge({
        name: "presence_online_users",
        help: "Users a workspace sees online (at least one connection, status not offline), per workspace",
        labelNames: ["workspace_id"],
        registers: [registry],
      }),
  );
}
