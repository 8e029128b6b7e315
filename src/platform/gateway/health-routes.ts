import type { FastifyPluginAsync } from "fastify";
import { checkDependencies, type DependencyProbe } from "./dependency-health.js";

/**
 * Live counters shown in `/health`, each measured by the part of the process that owns it
 * (`websocket_connections` by the socket layer, `online_users` by presence, …); a role that does
 * not measure a counter leaves it out rather than reporting 0.
 */
export type ServiceStats = Readonly<Record<string, number>>;

export type PartState = "starting" | "catching_up" | "ready";

export interface HealthRoutesOptions {
  readonly version: string;
  readonly nodeId: string;
  readonly probes: readonly DependencyProbe[];
  readonly probeTimeoutMs: number;
  readonly stats: () => ServiceStats | Promise<ServiceStats>;
  /**
   * The state of each part of the process that serves, by name: `starting` until it serves (a
   * processor that does not own its partitions yet, a projection not yet at its checkpoints),
   * `catching_up` while it serves from a read model that lags (a projection replaying after a
   * restart or a lost read model), `ready` otherwise. The process is ready once no part is
   * starting, and healthy (rather than degraded) once every part is ready.
   */
  readonly parts?: () => Readonly<Record<string, PartState>>;
  /** Reports each dependency's state, e.g. to a gauge. */
  readonly onReport?: (dependencies: Readonly<Record<string, "healthy" | "unhealthy">>) => void;
}

const dependencyStates = {
  type: "object",
  additionalProperties: { type: "string", enum: ["healthy", "unhealthy"] },
} as const;

const partStates = {
  type: "object",
  description: "each processor and projection of this process: not serving yet (starting), serving from a read model that lags (catching_up), or ready",
  additionalProperties: { type: "string", enum: ["starting", "catching_up", "ready"] },
} as const;

const healthBody = {
  type: "object",
  required: ["status", "version", "uptime", "node", "dependencies", "stats"],
  properties: {
    status: { type: "string", enum: ["healthy", "degraded", "unhealthy"], description: "degraded: a part of the process is starting or catching up (see parts)" },
    version: { type: "string" },
    uptime: { type: "integer", description: "seconds since the process started" },
    node: { type: "string" },
    dependencies: dependencyStates,
    parts: partStates,
    stats: {
      type: "object",
      description: "counters measured by this process, e.g. websocket_connections and online_users on a gateway",
      additionalProperties: { type: "integer" },
    },
  },
} as const;

const readyBody = {
  type: "object",
  required: ["status", "dependencies", "parts"],
  properties: { status: { type: "string", enum: ["ready", "not_ready"] }, dependencies: dependencyStates, parts: partStates },
} as const;

/**
 * `/health` (the full report), `/health/ready` (503 while any dependency is unhealthy or any part
 * of the process is not serving yet, so a load balancer or a harness waits) and `/health/live`
 * (200 while the event loop turns).
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, options) => {
  const { version, nodeId, probes, probeTimeoutMs, stats, onReport } = options;
  const parts = () => {
    const states = options.parts?.() ?? {};
    const values = Object.values(states);
    return { serving: !values.includes("starting"), allReady: values.every((state) => state === "ready"), parts: states };
  };

  const report = async () => {
    const result = await checkDependencies(probes, probeTimeoutMs);
    onReport?.(result.dependencies);
    if (!result.healthy) app.log.warn({ failures: result.failures }, "dependencies unhealthy");
    return result;
  };

  app.get(
    "/health",
    {
      schema: {
        tags: ["health"],
        summary: "The process's state, its dependencies and its parts",
        response: {
          200: { ...healthBody, description: "healthy, or degraded while a part is starting or catching up (named in parts)" },
          503: { ...healthBody, description: "unhealthy: a dependency this configuration uses does not answer" },
        },
      },
    },
    async (_request, reply) => {
      const result = await report();
      const serving = parts();
      return reply.code(result.healthy ? 200 : 503).send({
        status: !result.healthy ? "unhealthy" : serving.allReady ? "healthy" : "degraded",
        version,
        uptime: Math.floor(process.uptime()),
        node: nodeId,
        dependencies: result.dependencies,
        parts: serving.parts,
        stats: await stats(),
      });
    },
  );

  app.get(
    "/health/ready",
    {
      schema: {
        tags: ["health"],
        summary: "Whether the process serves: for load balancers and orchestrators",
        response: {
          200: { ...readyBody, description: "ready: every dependency answers and no part is starting" },
          503: { ...readyBody, description: "not_ready: a dependency does not answer, or a part is still starting" },
        },
      },
    },
    async (_request, reply) => {
      const result = await report();
      const serving = parts();
      const ready = result.healthy && serving.serving;
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", dependencies: result.dependencies, parts: serving.parts });
    },
  );

  app.get(
    "/health/live",
    {
      schema: {
        tags: ["health"],
        summary: "Whether the process runs",
        response: {
          200: { description: "alive while the event loop turns", type: "object", properties: { status: { type: "string" }, uptime: { type: "integer" } } },
        },
      },
    },
    async () => ({ status: "alive", uptime: Math.floor(process.uptime()) }),
  );
};
