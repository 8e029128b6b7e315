import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import type { Logger } from "../../infra/log/logger.js";
import type { ServiceMetrics } from "../../infra/metrics/service-metrics.js";
import type { DependencyProbe } from "./dependency-health.js";
import { registerOpenApi } from "./openapi.js";
import { phoenixSocketRoute, type PhoenixSocketOptions } from "../phoenix/socket-route.js";
import { healthRoutes, type PartState, type ServiceStats } from "./health-routes.js";
import { metricsRoutes } from "./metrics-routes.js";

export interface AppDependencies {
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly version: string;
  readonly nodeId: string;
  readonly probes: readonly DependencyProbe[];
  readonly stats: () => ServiceStats | Promise<ServiceStats>;
  /** The state of each serving part of the process (see `HealthRoutesOptions.parts`). */
  readonly parts?: () => Readonly<Record<string, PartState>>;
  readonly probeTimeoutMs?: number;
  /** The Phoenix socket at `/socket/websocket`; absent, the app serves HTTP only. */
  readonly socket?: Omit<PhoenixSocketOptions, "metrics" | "logger">;
  /** The contexts' REST routes; none: only health, metrics and the OpenAPI document are served. */
  readonly routes?: readonly FastifyPluginAsync[];
}

/**
 * Builds the HTTP application without listening (tests use `inject` or listen on port 0);
 * `server.ts` owns listen, signals and graceful close.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const httpLogger: FastifyBaseLogger = deps.logger.child({ component: "http" });
  const app = Fastify({
    loggerInstance: httpLogger,
    // Requests are counted in metrics; logging each one would drown the logs of a busy gateway.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
  });
  const { metrics } = deps;

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  await registerOpenApi(app, deps.version);
  await app.register(healthRoutes, {
    version: deps.version,
    nodeId: deps.nodeId,
    probes: deps.probes,
    probeTimeoutMs: deps.probeTimeoutMs ?? 2_000,
    stats: deps.stats,
    ...(deps.parts === undefined ? {} : { parts: deps.parts }),
    onReport: (dependencies) => {
      for (const [dependency, state] of Object.entries(dependencies)) {
        metrics.dependencyUp.set({ dependency }, state === "healthy" ? 1 : 0);
      }
    },
  });
  await app.register(metricsRoutes, { registry: metrics.registry });
  if (deps.socket) await app.register(phoenixSocketRoute, { ...deps.socket, metrics: metrics.websocket, logger: deps.logger });
  for (const routes of deps.routes ?? []) await app.register(routes);
  return app;
}
