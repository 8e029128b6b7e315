import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type HistogramConfiguration } from "prom-client";

/** The metrics one process exposes on `/metrics`; each role registers its own on `registry`. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly dependencyUp: Gauge<"dependency">;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route">;
  readonly websocket: WebsocketMetrics;
}

/** The Phoenix socket layer's metrics; label values are bounded sets, never client-chosen strings. */
export interface WebsocketMetrics {
  /** Open sockets (a gauge despite the seed's `_total` name). */
  readonly connections: Gauge;
  /** `direction`: in|out; `type`: heartbeat, join, leave, event, invalid (in) or reply, push, close, error (out). */
  readonly messages: Counter<"direction" | "type">;
  /** Upgrades refused before the handshake: token problems, too many connections, unsupported vsn. */
  readonly refusals: Counter<"reason">;
  /** Sockets the server closed, by disconnect reason (slow_consumer, shutdown, token_expired, …). */
  readonly disconnects: Counter<"reason">;
  /** Client events refused by a rate limit, by limit (message, typing, join, event, total). */
  readonly rateLimited: Counter<"limit">;
}

export function createServiceMetrics(labels: { node: string }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    dependencyUp: new Gauge({
      name: "quikchat_dependency_up",
      help: "1 when the dependency answered the last health check, 0 when it did not",
      labelNames: ["dependency"],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests served, by route and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    websocket: {
      connections: new Gauge({
        name: "websocket_connections_total",
        help: "Open Phoenix sockets",
        registers: [registry],
      }),
      messages: new Counter({
        name: "websocket_messages_total",
        help: "Phoenix frames received and sent, by direction and kind",
        labelNames: ["direction", "type"],
        registers: [registry],
      }),
      refusals: new Counter({
        name: "websocket_upgrade_refusals_total",
        help: "WebSocket upgrades refused before the handshake, by reason (auth failures, connection limit)",
        labelNames: ["reason"],
        registers: [registry],
      }),
      disconnects: new Counter({
        name: "websocket_server_disconnects_total",
        help: "Sockets closed by the server, by reason (slow_consumer, protocol_violation, token_expired, shutdown, …)",
        labelNames: ["reason"],
        registers: [registry],
      }),
      rateLimited: new Counter({
        name: "websocket_rate_limited_total",
        help: "Client events refused by a per-user rate limit, by limit",
        labelNames: ["limit"],
        registers: [registry],
      }),
    },
  };
}

/** Gets a metric already registered on `registry` (by another role of the process), or makes it. */
export function shared<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** A histogram already registered on `registry` under its name, or made there. */
function sharedHistogram<L extends string>(registry: Registry, configuration: Omit<HistogramConfiguration<L>, "registers">): Histogram<L> {
  return shared(registry, configuration.name, () => new Histogram({ ...configuration, registers: [registry] }));
}

/**
 * Calls of the server API by method (`batch` counts once, and each of its commands once more) and
 * outcome (`ok`, or the refusal's registry code, e.g. `invalid`, `not_found`, `unauthorized`),
 * whichever transport carried them (gRPC calls run the method's HTTP route).
 */
export function serverApiCallSeconds(registry: Registry): Histogram<"method" | "outcome"> {
  return sharedHistogram(registry, {
    name: "quikchat_server_api_call_seconds",
    help: "Server API calls (HTTP and gRPC), by method and outcome, and how long each took",
    labelNames: ["method", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
}

/** The gateway's end-to-end latencies. */
export interface GatewayMetrics {
  /**
   * From producing a command to its outcome (or its failure), by command context, type
   * (`quikchat.<context>.<type>`'s last part) and outcome (`accepted`, `rejected`, `timeout`,
   * `unavailable`, `internal`).
   */
  readonly commandReplySeconds: Histogram<"context" | "type" | "outcome">;
  /** From an event's own time (a message's `sentAt`, an edit's `editedAt`, …) to its push to a socket. */
  readonly eventDeliverySeconds: Histogram;
}

/** The gateway metrics on `registry`, created on first use. */
export function gatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    commandReplySeconds: shared(
      registry,
      "quikchat_command_reply_seconds",
      () =>
        new Histogram({
          name: "quikchat_command_reply_seconds",
          help: "Time from producing a command to its outcome, by context, type and outcome",
          labelNames: ["context", "type", "outcome"],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
    eventDeliverySeconds: shared(
      registry,
      "quikchat_event_delivery_seconds",
      () =>
        new Histogram({
          name: "quikchat_event_delivery_seconds",
          help: "Time from an event's timestamp (a message's sentAt) to its push to a socket",
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    ),
  };
}

/** What every projection of the process reports. */
export interface ProjectionMetrics {
  /** Offsets between a partition's high watermark and the projection's next offset. */
  readonly lag: Gauge<"projection" | "topic" | "partition">;
  /** Events applied to the read model (skipped repeats not counted). */
  readonly events: Counter<"projection">;
  /** The process's Kafka client metrics: each projection's consumer lag as librdkafka sees it. */
  readonly kafka: KafkaMetrics;
}

/** The projection metrics on `registry`, created on first use and shared by every projection of the process. */
export function projectionMetrics(registry: Registry): ProjectionMetrics {
  return {
    kafka: kafkaMetrics(registry),
    lag: shared(
      registry,
      "quikchat_projection_lag",
      () =>
        new Gauge({
          name: "quikchat_projection_lag",
          help: "Offsets of a partition not yet applied by the projection (high watermark minus next offset)",
          labelNames: ["projection", "topic", "partition"],
          registers: [registry],
        }),
    ),
    events: shared(
      registry,
      "quikchat_projection_events_total",
      () =>
        new Counter({
          name: "quikchat_projection_events_total",
          help: "Events applied to a projection's read model",
          labelNames: ["projection"],
          registers: [registry],
        }),
    ),
  };
}

/** What every Redis connection of the process reports (see `instrumentRedis`). */
export interface RedisMetrics {
  /** Commands sent, by command name (lower case: a bounded set, the commands this code issues). */
  readonly commands: Counter<"command">;
  /** From sending a command to its reply (or failure), by command name. */
  readonly latency: Histogram<"operation">;
}

/** The Redis metrics on `registry` (the seed's names), created on first use and shared by every connection. */
export function redisMetrics(registry: Registry): RedisMetrics {
  return {
    commands: shared(
      registry,
      "redis_commands_total",
      () => new Counter({ name: "redis_commands_total", help: "Redis commands sent, by command", labelNames: ["command"], registers: [registry] }),
    ),
    latency: sharedHistogram(registry, {
      name: "redis_latency_seconds",
      help: "Time from sending a Redis command to its reply, by command",
      labelNames: ["operation"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    }),
  };
}

/** What every Kafka client of the process reports. */
export interface KafkaMetrics {
  /**
   * Records of a partition a consumer has not read yet, from librdkafka's statistics, by client
   * (the role's consumer: `processor:<context>`, `projection:<name>`), topic and partition.
   */
  readonly consumerLag: Gauge<"client" | "topic" | "partition">;
  /** From producing to the broker's acknowledgement (a gateway's batch) or the transaction's commit (a processor's batch), by client. */
  readonly produceSeconds: Histogram<"client">;
}

const CONSUMER_LAG = {
  name: "kafka_consumer_lag",
  help: "Records of a partition not yet read by the consumer (librdkafka statistics), by client, topic and partition",
  labelNames: ["client", "topic", "partition"] as const,
};

/** The Kafka client metrics on `registry`, created on first use and shared by every client of the process. */
export function kafkaMetrics(registry: Registry): KafkaMetrics {
  return {
    consumerLag: shared(registry, "kafka_consumer_lag", () => new Gauge({ ...CONSUMER_LAG, registers: [registry] })),
    produceSeconds: sharedHistogram(registry, {
      name: "kafka_produce_latency_seconds",
      help: "Time from producing records to their acknowledgement (or their transaction's commit), by client",
      labelNames: ["client"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
  };
}
