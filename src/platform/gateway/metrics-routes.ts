import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";

/** `/metrics` in the Prometheus text format. */
export const metricsRoutes: FastifyPluginAsync<{ readonly registry: Registry }> = async (app, { registry }) => {
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["metrics"],
        summary: "Prometheus metrics of this process",
        produces: [registry.contentType],
        response: { 200: { description: "The Prometheus text exposition format", type: "string" } },
      },
    },
    async (_request, reply) => {
      return reply.header("content-type", registry.contentType).send(await registry.metrics());
    },
  );
};
