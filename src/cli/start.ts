import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Histogram } from "prom-client";
import type { Redis } from "ioredis";
import { CONTEXT_MODULES, settingsOf, type Config } from "../contexts/index.js";
import { kitFor, usedDependencies, type ContextModule, type GatewayKit, type GatewayPart, type NotifierKit, type ProjectionKit } from "../platform/context-module.js";
import { buildApp, type AppDependencies } from "../platform/gateway/app.js";
import type { PartState } from "../platform/gateway/health-routes.js";
import { bearerAuthentication } from "../platform/gateway/bearer-auth.js";
import { CommandBus } from "../platform/gateway/command-bus.js";
import { createJwtVerifier } from "../platform/gateway/jwt-verifier.js";
import { PubSubHub } from "../platform/gateway/pubsub-hub.js";
import { TOKEN_REVOCATIONS, withRevocations } from "../platform/gateway/token-revocations.js";
import { serve } from "../platform/gateway/server.js";
import { startGrpcServer } from "../platform/gateway/server-api/grpc-server.js";
import { serverApiRoutes } from "../platform/gateway/server-api/server-api-routes.js";
import type { ServerMethod } from "../platform/gateway/server-api/server-method.js";
import { createRedisActionRateLimiter } from "../platform/phoenix/action-rate-limiter.js";
import { allOf } from "../platform/phoenix/connection-lifecycle.js";
import { createConnectionRegistry } from "../platform/phoenix/connection-registry.js";
import { userFamily } from "../platform/phoenix/identity-families.js";
import { socketLimitsFromConfig } from "../platform/phoenix/socket-route.js";
import { Ports } from "../platform/ports.js";
import { startProcessor } from "../platform/processor/processor-runtime.js";
import { schemaRegistryProbe } from "../infra/avro/schema-registry-client.js";
import { kafkaProbe } from "../infra/kafka/kafka-probe.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import { RecordProducer } from "../infra/kafka/record-producer.js";
import type { Logger } from "../infra/log/logger.js";
import { createServiceMetrics, gatewayMetrics, kafkaMetrics, projectionMetrics, redisMetrics, serverApiCallSeconds } from "../infra/metrics/service-metrics.js";
import { createMongoClient, mongoProbe } from "../infra/mongo/mongo-connection.js";
import { createMysqlPool, mysqlProbe } from "../infra/mysql/mysql-pool.js";
import { createRedis, redisProbe } from "../infra/redis/redis-connection.js";
import { RedisReplyPublisher } from "../infra/redis/redis-reply-publisher.js";
import { stackUp } from "../infra/stack/stack.js";
import { consoleRoutes } from "../console/console-routes.js";
import { bootstrapContract } from "./bootstrap.js";
import { waitForDependencies } from "./dependency-wait.js";
import { stackSpecFromConfig } from "./stack-spec.js";

/** `all` runs every role in one process; the others split them across processes. */
export const ROLES = ["all", "gateway", "processor", "projector", "notifier"] as const;
export type Role = (typeof ROLES)[number];

export interface Running {
  readonly address: string;
  shutdown(reason: string): Promise<void>;
}

/**
 * The composition root of one process: brings up the local stack when configured to, waits for
 * the dependencies its contexts use (rejecting with an `UnreachableDependencyError` naming the
 * variable of any that stays silent), makes the cluster match the contract, starts the roles
 * asked for with what every context of `modules` contributes to them, and serves HTTP (every
 * role answers `/health` and `/metrics`; the gateway adds the socket and the contexts' REST
 * routes). On shutdown the HTTP server closes first (sockets get a reconnectable code), then
 * everything in reverse order of start: the contexts' gateway parts, in-flight batches commit,
 * producers flush, connections close.
 */
export async function start(
  config: Config,
  logger: Logger,
  role: Role,
  modules: readonly ContextModule<string, unknown>[] = CONTEXT_MODULES,
): Promise<Running> {
  const settings = (module: ContextModule<string, unknown>) => settingsOf(config, module);
  const uses = usedDependencies(modules, settings);
  if (config.stack.mode === "auto") {
    for (const component of await stackUp(stackSpecFromConfig(config, uses, modules), (line) => logger.info(line))) {
      logger.info({ component: component.name, state: component.state, address: component.address }, "stack component");
    }
  }
  await waitForDependencies(config, uses, logger);
  const { codec, registry } = await bootstrapContract(config, logger);
  const runs = (part: Exclude<Role, "all">) => role === "all" || role === part;
  const prefix = config.kafka.topicPrefix;

  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => logger.warn({ err: error }, "error while closing"));
    }
  };
  const metrics = createServiceMetrics({ node: config.service.nodeId });
  const redisMeasured = redisMetrics(metrics.registry);
  /** Every Redis connection of the process, each counted and timed on `/metrics`. */
  const redisConnection = (name: string, options: { failFast?: boolean } = {}): Redis => {
    const connection = createRedis(config.redis.url, logger, { name, ...options, metrics: redisMeasured });
    closers.push(() => connection.quit());
    return connection;
  };
  try {
    const redis = redisConnection("main");
    const healthRedis = redisConnection("health", { failFast: true });
    const pool = uses.includes("mysql") ? createMysqlPool(config.mysql.url, config.mysql.poolSize) : undefined;
    if (pool !== undefined) closers.push(() => pool.end());
    const mongo = uses.includes("mongo") ? createMongoClient(config.mongo.url) : undefined;
    if (mongo !== undefined) closers.push(() => mongo.close());
    const stores = { ...(pool === undefined ? {} : { pool }), ...(mongo === undefined ? {} : { mongo }) };
    const ports = new Ports();
    /** The state of each processor and projection of this process: `/health/ready` waits for every one to serve. */
    const serving = new Map<string, () => PartState>();

    let processorStopped: Promise<Error | undefined> | undefined;
    if (runs("processor")) {
      const replies = new RedisReplyPublisher(redis, logger);
      const deps = { kafka: config.kafka, nodeId: config.service.nodeId, codec, replies, logger, registry: metrics.registry };
      const definitions = modules.flatMap((module) => module.processors?.(settings(module)) ?? []);
      const handles = await startTogether(definitions, (definition) => startProcessor(definition, deps), closers);
      definitions.forEach((definition, index) => {
        const handle = handles[index]!;
        serving.set(`processor:${definition.contexts[0]}`, () => (handle.ready() ? "ready" : "starting"));
      });
      if (handles.length > 0) processorStopped = Promise.race(handles.map((handle) => handle.stopped));
    }

    if (runs("projector")) {
      const kit: Omit<ProjectionKit, "pool" | "mongo"> = {
        config,
        codec,
        logger,
        redis,
        redisConnection,
        metrics: projectionMetrics(metrics.registry),
        registry: metrics.registry,
        ports,
      };
      const projections = modules.flatMap((module) => module.projections?.(kitFor<ProjectionKit>(module, settings(module), kit, stores), settings(module)) ?? []);
      const started = await startTogether(projections, (projection) => projection.start(), closers);
      projections.forEach((projection, index) => {
        const running = started[index]!;
        serving.set(`projection:${projection.name}`, () => {
          const state = running.state();
          return state === "live" ? "ready" : state;
        });
      });
    }

    let gateway: Pick<AppDependencies, "socket" | "routes"> = {};
    const parts: GatewayPart[] = [];
    const connections = createConnectionRegistry(config.websocket);
    if (runs("gateway")) {
      const hub = new PubSubHub(redisConnection("gateway-subscriber"), logger);
      const producer = new RecordProducer({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-gateway` }, codec, logger, kafkaMetrics(metrics.registry).produceSeconds.labels("gateway"));
      await producer.connect();
      closers.push(() => producer.close());
      const bus = new CommandBus(producer, hub, config.service.nodeId, prefix, logger, { metrics: gatewayMetrics(metrics.registry) });
      await bus.start();
      // A context that keeps revocations provides them below; every verification reads the port then.
      const verifier = withRevocations(await createJwtVerifier(config.auth), () => ports.find(TOKEN_REVOCATIONS));
      const limits = socketLimitsFromConfig(config, modules.flatMap((module) => module.rateLimits?.(settings(module)) ?? []));
      const rateLimiter = createRedisActionRateLimiter(redis, limits.rateLimits, `${prefix}quikchat:ratelimit`);
      const kit: Omit<GatewayKit, "pool" | "mongo"> = {
        config,
        logger,
        redis,
        hub,
        bus,
        // A restarted gateway is a new one: the presence sweeper expires what its predecessor held.
        gatewayId: `${config.service.nodeId}.${randomUUID().slice(0, 8)}`,
        connections,
        authenticate: bearerAuthentication(verifier),
        rateLimiter,
        registry: metrics.registry,
        ports,
      };
      for (const module of modules) {
        if (module.gateway === undefined) continue;
        const part = await module.gateway(kitFor<GatewayKit>(module, settings(module), kit, stores), settings(module));
        parts.push(part);
        if (part.close !== undefined) closers.push(() => part.close!());
      }
      const contributed = <T>(pick: (part: GatewayPart) => T | undefined): T[] => parts.flatMap((part) => pick(part) ?? []);
      gateway = {
        socket: {
          families: [userFamily(contributed((part) => part.userChannel)), ...contributed((part) => part.families).flat()],
          verifier,
          limits,
          redis,
          registry: connections,
          rateLimiter,
          lifecycle: allOf(contributed((part) => part.lifecycle)),
        },
        routes: [
          ...contributed((part) => part.routes),
          ...serverApi(config, contributed((part) => part.serverMethods).flat(), serverApiCallSeconds(metrics.registry), logger),
          // The operators' console, over every context of the process (off in production until configured).
          ...(config.console.enabled
            ? [
                async (app: FastifyInstance) => {
                  await app.register(consoleRoutes, { config, logger, codec, verifier, registry: metrics.registry, lookups: contributed((part) => part.lookups).flat() });
                },
              ]
            : []),
        ],
      };
    }

    if (runs("notifier")) {
      const kit: Omit<NotifierKit, "pool" | "mongo"> = { config, codec, logger, redis, registry: metrics.registry, ports };
      for (const module of modules) {
        if (module.notifier === undefined) continue;
        const part = await module.notifier(kitFor<NotifierKit>(module, settings(module), kit, stores), settings(module));
        if (part.close !== undefined) closers.push(() => part.close!());
        if (part.ready !== undefined) {
          const ready = part.ready.bind(part);
          serving.set(`notifier:${module.name}`, () => (ready() ? "ready" : "starting"));
        }
      }
    }

    const app = await buildApp({
      logger,
      metrics,
      version: config.service.version,
      nodeId: config.service.nodeId,
      probes: [
        kafkaProbe(createKafkajs(config.kafka, logger, { retries: 0, quiet: true })),
        schemaRegistryProbe(registry),
        redisProbe(healthRedis),
        ...(pool === undefined ? [] : [mysqlProbe(pool)]),
        ...(mongo === undefined ? [] : [mongoProbe(mongo)]),
      ],
      parts: () => Object.fromEntries([...serving].map(([name, ready]) => [name, ready()])),
      stats: async () => {
        const stats: Record<string, number> = runs("gateway") ? { websocket_connections: connections.size } : {};
        for (const measured of await Promise.all(parts.map((part) => measuredStats(part)))) Object.assign(stats, measured);
        return stats;
      },
      ...gateway,
    });
    const methods = parts.flatMap((part) => part.serverMethods ?? []);
    if (methods.length > 0 && config.serverApi.keys.length > 0) {
      const grpcServer = await startGrpcServer({ app, methods, host: config.service.host, port: config.serverApi.grpcPort, logger });
      closers.push(() => grpcServer.close());
    }
    logger.info({ role, contexts: modules.map((module) => module.name) }, "roles started");
    const running = await serve(app, config.service, logger, closeAll);
    // A processor stops on its own only when fenced or broken: exit so the supervisor restarts the process.
    void processorStopped?.then(async (error) => {
      if (error === undefined) return;
      logger.fatal({ err: error }, "processor stopped; shutting down");
      await running.shutdown("processor stopped");
      process.exit(1);
    });
    return running;
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Starts every item of one tier (the processors, the projections) at once: each is its own Kafka
 * consumer, independent of the others, and one by one a process of every role took seconds to
 * join its thirty groups, and as long to leave them. One closer is added for the tier, closing its
 * items at once. When a start fails, those that started are closed and the first failure thrown.
 */
async function startTogether<T, R extends { close(): Promise<unknown> }>(items: readonly T[], start: (item: T) => Promise<R>, closers: (() => Promise<unknown>)[]): Promise<R[]> {
  const outcomes = await Promise.allSettled(items.map(start));
  const started = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
  closers.push(async () => {
    const closed = await Promise.allSettled(started.map((item) => item.close()));
    const failed = closed.find((outcome) => outcome.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  });
  const failure = outcomes.find((outcome) => outcome.status === "rejected");
  if (failure !== undefined) throw failure.reason;
  return started;
}

/** How long `/health` waits for a context's counters (a read model read in Redis) before leaving them out. */
const STATS_TIMEOUT_MS = 2_000;

/** A context's `/health` counters, or none when they cannot be read in time (`/health` reports the dependency). */
async function measuredStats(part: GatewayPart): Promise<Readonly<Record<string, number>> | undefined> {
  if (part.stats === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), STATS_TIMEOUT_MS)));
  try {
    return await Promise.race([Promise.resolve(part.stats()), late]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The server API routes of the contexts' methods, when `SERVER_API_KEYS` holds a key; none
 * otherwise (a route that would refuse every caller is not served).
 */
function serverApi(config: Config, methods: readonly ServerMethod[], calls: Histogram<"method" | "outcome">, logger: Logger): FastifyPluginAsync[] {
  if (methods.length === 0) return [];
  if (config.serverApi.keys.length === 0) {
    logger.info("SERVER_API_KEYS is empty: the server API (HTTP and gRPC) is not served");
    return [];
  }
  return [
    async (app) => {
      await app.register(serverApiRoutes, { methods, keys: config.serverApi.keys, calls });
    },
  ];
}
