import type { FastifyPluginAsync } from "fastify";
import { checkDependencies, type DependencyProbe } from "./dependency-health.js";

/**
 * Live counters shown in `/health`, each measured by the part of the process that owns it
 * (`websocket_connections` by the socket layer, `online_users` by presence, …); a role that does
 * not measure a counter leaves it out rather than reporting 0.
 */
export type ServiceStats = Readonly<Record<string, number>>;

export interface HealthRoutesOptions {
  readonly version: string;
  readonly nodeId: string;
  readonly probes: readonly DependencyProbe[];
  readonly probeTimeoutMs: number;
  readonly stats: () => ServiceStats;
  /** Reports each dependency's state, e.g. to a gauge. */
  readonly onReport?: (dependencies: Readonly<Record<string, "healthy" | "unhealthy">>) => void;
}

const dependencyStates = {
  type: "object",
  additionalProperties: { type: "string", enum: ["healthy", "unhealthy"] },
} as const;

const healthBody = {
  type: "object",
  required: ["status", "version", "uptime", "node", "dependencies", "stats"],
  properties: {
    status: { type: "string", enum: ["healthy", "unhealthy"] },
    version: { type: "string" },
    uptime: { type: "integer", description: "seconds since the process started" },
    node: { type: "string" },
    dependencies: dependencyStates,
    stats: {
      type: "object",
      description: "counters measured by this process, e.g. websocket_connections and online_users on a gateway",
      additionalProperties: { type: "integer" },
    },
  },
} as const;

const readyBody = {
  type: "object",
  required: ["status", "dependencies"],
  properties: { status: { type: "string", enum: ["ready", "not_ready"] }, dependencies: dependencyStates },
} as const;

/**
 * `/health` (the full report), `/health/ready` (503 while any dependency is unhealthy, so a
 * load balancer stops sending traffic) and `/health/live` (200 while the event loop turns).
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, options) => {
  const { version, nodeId, probes, probeTimeoutMs, stats, onReport } = options;

  const report = async () => {
    const result = await checkDependencies(probes, probeTimeoutMs);
    onReport?.(result.dependencies);
    if (!result.healthy) app.log.warn({ failures: result.failures }, "dependencies unhealthy");
    return result;
  };

  app.get(
    "/health",
    { schema: { tags: ["health"], response: { 200: healthBody, 503: healthBody } } },
    async (_request, reply) => {
      const result = await report();
      return reply.code(result.healthy ? 200 : 503).send({
        status: result.healthy ? "healthy" : "unhealthy",
        version,
        uptime: Math.floor(process.uptime()),
        node: nodeId,
        dependencies: result.dependencies,
        stats: stats(),
      });
    },
  );

  app.get(
    "/health/ready",
    { schema: { tags: ["health"], response: { 200: readyBody, 503: readyBody } } },
    async (_request, reply) => {
      const result = await report();
      return reply
        .code(result.healthy ? 200 : 503)
        .send({ status: result.healthy ? "ready" : "not_ready", dependencies: result.dependencies });
    },
  );

  app.get(
    "/health/live",
    {
      schema: {
        tags: ["health"],
        response: {
          200: { type: "object", properties: { status: { type: "string" }, uptime: { type: "integer" } } },
        },
      },
    },
    async () => ({ status: "alive", uptime: Math.floor(process.uptime()) }),
  );
};
