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
  /**
   * Whether each part of the process that serves is serving yet, by name (`processor:presence`
   * owns its partitions, `projection:history` is consuming from its checkpoints…): the process is
   * ready only once every one is, whatever its dependencies say.
   */
  readonly parts?: () => Readonly<Record<string, boolean>>;
  /** Reports each dependency's state, e.g. to a gauge. */
  readonly onReport?: (dependencies: Readonly<Record<string, "healthy" | "unhealthy">>) => void;
}

const dependencyStates = {
  type: "object",
  additionalProperties: { type: "string", enum: ["healthy", "unhealthy"] },
} as const;

const partStates = {
  type: "object",
  description: "each processor and projection of this process: serving (ready) or not yet (starting)",
  additionalProperties: { type: "string", enum: ["ready", "starting"] },
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
    return {
      ready: Object.values(states).every(Boolean),
      parts: Object.fromEntries(Object.entries(states).map(([name, ready]) => [name, ready ? "ready" : "starting"])),
    };
  };

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
        parts: parts().parts,
        stats: stats(),
      });
    },
  );

  app.get(
    "/health/ready",
    { schema: { tags: ["health"], response: { 200: readyBody, 503: readyBody } } },
    async (_request, reply) => {
      const result = await report();
      const serving = parts();
      const ready = result.healthy && serving.ready;
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", dependencies: result.dependencies, parts: serving.parts });
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
