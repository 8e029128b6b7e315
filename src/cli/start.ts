import { randomUUID } from "node:crypto";
import { conversationProcessor } from "../contexts/conversations/processor.js";
import { presenceProcessor } from "../contexts/presence/processor.js";
import { typingProcessor } from "../contexts/typing/processor.js";
import { startProcessor } from "../platform/processor/processor-runtime.js";
import type { Config } from "../platform/config/config.js";
import { createJwtVerifier } from "../platform/gateway/jwt-verifier.js";
import { buildApp, type AppDependencies } from "../platform/gateway/app.js";
import { conversationFamily } from "../contexts/conversations/channels/conversation-family.js";
import { ConversationSubscriptions, watchMembership } from "../contexts/conversations/channels/conversation-subscriptions.js";
import { CHAT_DIALECT, CONVERSATION_DIALECT } from "../contexts/conversations/channels/dialects.js";
import {
  participantFamily,
  presenceFamily,
  userFamily,
  webrtcLobbyFamily,
  type ParticipantDirectory,
} from "../platform/phoenix/identity-families.js";
import { CommandBus } from "../platform/gateway/command-bus.js";
import { conversationCommands } from "../contexts/conversations/channels/conversation-actions.js";
import { conversationFeed } from "../contexts/conversations/channels/conversation-feed.js";
import { DeltaFanout } from "../contexts/conversations/channels/delta-fanout.js";
import { PubSubHub } from "../platform/gateway/pubsub-hub.js";
import { typingSignals } from "../contexts/typing/channels/typing-signals.js";
import { ownPresence, statusSetter, workspacePresence } from "../contexts/presence/channels/presence-channels.js";
import { PresenceRooms } from "../contexts/presence/channels/presence-rooms.js";
import { PresenceTracker } from "../contexts/presence/presence-tracker.js";
import { createRedisActionRateLimiter } from "../platform/phoenix/action-rate-limiter.js";
import { createConnectionRegistry } from "../platform/phoenix/connection-registry.js";
import { socketLimitsFromConfig } from "../platform/phoenix/socket-route.js";
import { bearerAuthentication } from "../platform/gateway/bearer-auth.js";
import { serve } from "../platform/gateway/server.js";
import { schemaRegistryProbe } from "../infra/avro/schema-registry-client.js";
import { kafkaProbe } from "../infra/kafka/kafka-probe.js";
import { createKafkajs } from "../infra/kafka/kafkajs-client.js";
import { RecordProducer } from "../infra/kafka/record-producer.js";
import type { Logger } from "../infra/log/logger.js";
import { createServiceMetrics, gatewayMetrics, projectionMetrics } from "../infra/metrics/service-metrics.js";
import { createMongoClient, mongoProbe } from "../infra/mongo/mongo-connection.js";
import { createMysqlPool, mysqlProbe } from "../infra/mysql/mysql-pool.js";
import { createRedis, redisProbe } from "../infra/redis/redis-connection.js";
import { RedisReplyPublisher } from "../infra/redis/redis-reply-publisher.js";
import { stackUp } from "../infra/stack/stack.js";
import { createHistoryStore, startHistoryProjection } from "../contexts/conversations/projections/history/history-projection.js";
import { membershipReadModel, startMembershipProjection } from "../contexts/conversations/projections/membership/membership-projection.js";
import { startPresenceProjection } from "../contexts/presence/projections/presence/presence-projection.js";
import { PresenceReadModel } from "../contexts/presence/projections/presence/presence-read-model.js";
import { startTypingProjection } from "../contexts/typing/projections/typing/typing-projection.js";
import { TypingReadModel } from "../contexts/typing/projections/typing/typing-read-model.js";
import { bootstrapContract } from "./bootstrap.js";
import { stackSpecFromConfig } from "./stack-spec.js";

/** `all` runs every role in one process; the others split them across processes. */
export const ROLES = ["all", "gateway", "processor", "projector"] as const;
export type Role = (typeof ROLES)[number];

export interface Running {
  readonly address: string;
  shutdown(reason: string): Promise<void>;
}

/** Calls and huddles have no read model yet: nobody can join their channels. */
const noParticipantsYet: ParticipantDirectory = { isParticipant: () => Promise.resolve(false) };

/**
 * The composition root of one process: brings up the local stack when configured to, makes
 * the cluster match the contract, starts the roles asked for, and serves HTTP (every role
 * answers `/health` and `/metrics`; the gateway adds the socket and the REST API). On shutdown
 * the HTTP server closes first (sockets get a reconnectable code), then each role in reverse
 * order of start: in-flight batches commit, producers flush, connections close.
 */
export async function start(config: Config, logger: Logger, role: Role): Promise<Running> {
  if (config.stack.mode === "auto") {
    for (const component of await stackUp(stackSpecFromConfig(config), (line) => logger.info(line))) {
      logger.info({ component: component.name, state: component.state, address: component.address }, "stack component");
    }
  }
  const { codec, registry } = await bootstrapContract(config, logger);
  const runs = (part: Exclude<Role, "all">) => role === "all" || role === part;

  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => logger.warn({ err: error }, "error while closing"));
    }
  };
  try {
    const metrics = createServiceMetrics({ node: config.service.nodeId });
    const redis = createRedis(config.redis.url, logger, { name: "main" });
    closers.push(() => redis.quit());
    const healthRedis = createRedis(config.redis.url, logger, { name: "health", failFast: true });
    closers.push(() => healthRedis.quit());
    const pool = createMysqlPool(config.mysql.url, config.mysql.poolSize);
    closers.push(() => pool.end());
    const mongo = createMongoClient(config.mongo.url);
    closers.push(() => mongo.close());

    let processorStopped: Promise<Error | undefined> | undefined;
    if (runs("processor")) {
      const replies = new RedisReplyPublisher(redis, logger);
      const deps = { kafka: config.kafka, nodeId: config.service.nodeId, codec, replies, logger, registry: metrics.registry };
      const processors = [
        await startProcessor(conversationProcessor, deps),
        await startProcessor(presenceProcessor({ connectionTtlMs: config.presence.connectionTtlMs }), deps),
        await startProcessor(typingProcessor({ timeoutMs: config.typing.timeoutMs }), deps),
      ];
      for (const processor of processors) closers.push(() => processor.close());
      processorStopped = Promise.race(processors.map((processor) => processor.stopped));
    }
    const history = createHistoryStore(config, { pool, mongo });
    await history.ensureSchema();
    if (runs("projector")) {
      const projections = projectionMetrics(metrics.registry);
      const membership = await startMembershipProjection({ config, codec, pool, redis, logger, metrics: projections });
      closers.push(() => membership.close());
      const messages = await startHistoryProjection({ config, codec, store: history, redis, logger, metrics: projections });
      closers.push(() => messages.close());
      const presence = await startPresenceProjection({ config, codec, redis, pool, logger, metrics: projections, registry: metrics.registry });
      closers.push(() => presence.close());
      const typing = await startTypingProjection({ config, codec, redis, logger, metrics: projections, registry: metrics.registry });
      closers.push(() => typing.close());
    }

    let gateway: Pick<AppDependencies, "socket" | "rest" | "presence"> = {};
    let localUsers = () => 0;
    const connections = createConnectionRegistry(config.websocket);
    if (runs("gateway")) {
      const subscriber = createRedis(config.redis.url, logger, { name: "gateway-subscriber" });
      closers.push(() => subscriber.quit());
      const producer = new RecordProducer(createKafkajs(config.kafka, logger), codec);
      await producer.connect();
      closers.push(() => producer.close());
      const prefix = config.kafka.topicPrefix;
      const gatewayTimings = gatewayMetrics(metrics.registry);
      const bus = new CommandBus(producer, subscriber, config.service.nodeId, prefix, logger, { metrics: gatewayTimings });
      await bus.start();
      const hub = new PubSubHub(subscriber, logger);
      const { readModel } = membershipReadModel(pool, redis, config);
      const subscriptions = new ConversationSubscriptions();
      await watchMembership(subscriber, prefix, subscriptions, logger);
      const conversations = {
        membership: readModel,
        subscriptions,
        actions: conversationCommands(bus, typingSignals(bus, config.typing, gatewayTimings)),
        feed: conversationFeed(new DeltaFanout(hub, prefix, logger), history, logger, { metrics: gatewayTimings }),
      };
      const presence = new PresenceReadModel(redis, prefix);
      // A restarted gateway is a new one: the sweeper expires what its predecessor held.
      const gatewayId = `${config.service.nodeId}.${randomUUID().slice(0, 8)}`;
      const tracker = new PresenceTracker({
        commands: bus,
        redis,
        directory: presence,
        gatewayId,
        topicPrefix: prefix,
        settings: config.presence,
        logger,
        metrics: gatewayTimings,
      });
      await tracker.start();
      // Closed before the producer: the DisconnectClient commands of the sockets closed on shutdown go out first.
      closers.push(() => tracker.close());
      localUsers = () => tracker.localUsers;
      const setStatus = statusSetter(bus);
      const rooms = new PresenceRooms(hub, presence, prefix, config.presence.diffIntervalMs, logger);
      const verifier = await createJwtVerifier(config.auth);
      const rateLimiter = createRedisActionRateLimiter(redis, config.rateLimits);
      gateway = {
        socket: {
          families: [
            conversationFamily(CHAT_DIALECT, conversations),
            conversationFamily(CONVERSATION_DIALECT, conversations),
            userFamily(ownPresence(hub, presence, prefix, logger, setStatus)),
            presenceFamily(workspacePresence(rooms, setStatus)),
            webrtcLobbyFamily,
            participantFamily("call", noParticipantsYet),
            participantFamily("huddle", noParticipantsYet),
          ],
          verifier,
          limits: socketLimitsFromConfig(config),
          redis,
          registry: connections,
          rateLimiter,
          lifecycle: tracker,
        },
        rest: { bus, membership: readModel, history, authenticate: bearerAuthentication(verifier), rateLimiter },
        presence: {
          presence,
          typing: new TypingReadModel(redis, prefix),
          membership: readModel,
          setStatus,
          authenticate: bearerAuthentication(verifier),
          rateLimiter,
        },
      };
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
        mysqlProbe(pool),
        mongoProbe(mongo),
      ],
      stats: () => ({ websocket_connections: connections.size, online_users: localUsers(), active_calls: 0, active_huddles: 0 }),
      ...gateway,
    });
    logger.info({ role }, "roles started");
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
