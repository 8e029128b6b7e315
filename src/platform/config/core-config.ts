import { hostname } from "node:os";
import { z } from "zod";
import { defineSlice, defined, list, optionalText, port, positiveInt, url, type SlicesConfig } from "./config-slice.js";
import { projectRoot, projectVersion } from "./project.js";

/**
 * The platform's configuration: where the service listens, its connections, authentication,
 * socket limits and the local stack. With nothing set, every address points at the local stack
 * that `quikchat stack up` starts on this machine. Each context adds its own slice (its
 * `config.ts`).
 */

/** Read by several slices (production tightens authentication, and keeps the console off until configured). */
export const nodeEnv = z.enum(["development", "production", "test"]).default("development");

const service = defineSlice({
  name: "service",
  variables: {
    NODE_ENV: nodeEnv,
    PORT: port.default(4000),
    HOST: z.string().min(1).default("0.0.0.0"),
    NODE_NAME: optionalText,
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
    DEPENDENCY_WAIT_MS: positiveInt.default(10_000),
  },
  settings: (env) => ({
    env: env.NODE_ENV,
    version: projectVersion(),
    port: env.PORT,
    host: env.HOST,
    /** Unique per process: gateways receive command outcomes on `reply:<nodeId>`. */
    nodeId: env.NODE_NAME ?? `${hostname()}-${process.pid}`,
    logLevel: env.LOG_LEVEL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    /** How long `start` and the tools wait for each dependency to answer before giving up, naming its variable. */
    dependencyWaitMs: env.DEPENDENCY_WAIT_MS,
  }),
});

const kafka = defineSlice({
  name: "kafka",
  variables: {
    KAFKA_BROKERS: list("127.0.0.1:9092").refine(
      (brokers) => brokers.length > 0 && brokers.every((broker) => /^[^\s:]+:\d{1,5}$/.test(broker)),
      "must be a comma-separated list of host:port",
    ),
    KAFKA_CLIENT_ID: z.string().min(1).default("quikchat"),
    KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, "may hold letters, digits, '.', '_' and '-' only").default(""),
    KAFKA_PARTITIONS: positiveInt.default(6),
    KAFKA_REPLICATION_FACTOR: positiveInt.default(1),
    KAFKA_EPHEMERAL_RETENTION_MS: positiveInt.default(3_600_000),
  },
  settings: (env) => ({
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID,
    /** Prepended to every topic name (and Redis key, table, subject); empty in production, set per test run for isolation. */
    topicPrefix: env.KAFKA_TOPIC_PREFIX,
    partitions: env.KAFKA_PARTITIONS,
    replicationFactor: env.KAFKA_REPLICATION_FACTOR,
    ephemeralRetentionMs: env.KAFKA_EPHEMERAL_RETENTION_MS,
  }),
});

const registry = defineSlice({
  name: "registry",
  variables: {
    SCHEMA_REGISTRY_URL: url(["http:", "https:"]).default("http://127.0.0.1:8081/apis/ccompat/v7"),
    SCHEMA_REGISTRY_USERNAME: optionalText,
    SCHEMA_REGISTRY_PASSWORD: optionalText,
  },
  settings: (env) => ({
    url: env.SCHEMA_REGISTRY_URL.replace(/\/+$/, ""),
    ...defined({ username: env.SCHEMA_REGISTRY_USERNAME, password: env.SCHEMA_REGISTRY_PASSWORD }),
  }),
});

const redis = defineSlice({
  name: "redis",
  variables: { REDIS_URL: url(["redis:", "rediss:"]).default("redis://127.0.0.1:6379") },
  settings: (env) => ({ url: env.REDIS_URL }),
});

const mysql = defineSlice({
  name: "mysql",
  variables: {
    DATABASE_URL: url(["mysql:", "mariadb:"]).default("mysql://root@127.0.0.1:3306/quikchat_realtime"),
    POOL_SIZE: positiveInt.default(10),
  },
  settings: (env) => ({ url: env.DATABASE_URL, poolSize: env.POOL_SIZE }),
});

const mongo = defineSlice({
  name: "mongo",
  variables: {
    MONGO_URL: url(["mongodb:", "mongodb+srv:"]).optional(),
    MONGODB_URL: url(["mongodb:", "mongodb+srv:"]).optional(),
  },
  problems: (env) =>
    env.MONGO_URL && env.MONGODB_URL && env.MONGO_URL !== env.MONGODB_URL ? ["MONGO_URL, MONGODB_URL: both set to different values; set one"] : [],
  settings: (env) => ({
    url: env.MONGO_URL ?? env.MONGODB_URL ?? "mongodb://127.0.0.1:27017/quikchat",
    /** The variable the URL came from, for messages that tell which one to fix. */
    variable: env.MONGO_URL === undefined && env.MONGODB_URL !== undefined ? "MONGODB_URL" : "MONGO_URL",
  }),
});

/** A development-only signing key; production refuses to start without JWT_SECRET or a public key. */
const DEVELOPMENT_JWT_SECRET = "quikchat-development-secret-change-me";

/**
 * Secrets copied from examples rather than generated: anyone who read the same example could
 * sign tokens for any user. The development key and the one docker-compose.yml once carried,
 * and the words examples use to say "put yours here".
 */
const PLACEHOLDER_SECRETS = [DEVELOPMENT_JWT_SECRET, "replace-with-a-secret-of-at-least-32-chars"];
const PLACEHOLDER_WORDS = /change[-_ ]?me|replace[-_ ]?(with|me)|placeholder|your[-_ ]?secret|example[-_ ]?secret/i;

/** Whether `secret` is a known placeholder rather than a generated key. */
export const isPlaceholderSecret = (secret: string): boolean => PLACEHOLDER_SECRETS.includes(secret) || PLACEHOLDER_WORDS.test(secret);

const auth = defineSlice({
  name: "auth",
  variables: {
    NODE_ENV: nodeEnv,
    JWT_SECRET: optionalText,
    JWT_ISSUER: optionalText,
    JWT_AUDIENCE: optionalText,
    JWT_JWKS_URL: url(["http:", "https:"]).optional(),
    JWT_PUBLIC_KEY: optionalText,
  },
  problems: (env) => {
    const problems: string[] = [];
    if (env.NODE_ENV === "production" && !env.JWT_SECRET && !env.JWT_JWKS_URL && !env.JWT_PUBLIC_KEY) {
      problems.push("JWT_SECRET: required in production (or JWT_JWKS_URL / JWT_PUBLIC_KEY)");
    }
    if (env.JWT_SECRET !== undefined && env.JWT_SECRET.length < 32) problems.push("JWT_SECRET: must be at least 32 characters for HS256");
    if (env.NODE_ENV === "production" && env.JWT_SECRET !== undefined && isPlaceholderSecret(env.JWT_SECRET)) {
      problems.push("JWT_SECRET: a placeholder from an example is refused in production; generate one, e.g. `openssl rand -base64 48`");
    }
    return problems;
  },
  settings: (env) => ({
    jwtSecret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
    /**
     * Whether HS256 tokens signed with `jwtSecret` are accepted: false when only
     * JWT_JWKS_URL/JWT_PUBLIC_KEY is set, so the development secret is never trusted.
     */
    acceptHs256: env.JWT_SECRET !== undefined || (env.JWT_JWKS_URL === undefined && env.JWT_PUBLIC_KEY === undefined),
    ...defined({ issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, jwksUrl: env.JWT_JWKS_URL, publicKey: env.JWT_PUBLIC_KEY }),
  }),
});

/** The server API for backends (`POST /api/server/<method>` and gRPC `RealtimeService`). */
const serverApi = defineSlice({
  name: "serverApi",
  variables: {
    SERVER_API_KEYS: list(""),
    GRPC_PORT: port.default(50054),
  },
  problems: (env) => (env.SERVER_API_KEYS.some((key) => key.length < 16) ? ["SERVER_API_KEYS: each key must be at least 16 characters"] : []),
  settings: (env) => ({
    /** Keys a backend presents; none: the server API is not served (neither HTTP nor gRPC). */
    keys: env.SERVER_API_KEYS,
    grpcPort: env.GRPC_PORT,
  }),
});

/** Limits of one Phoenix socket (`/socket/websocket`). */
const websocket = defineSlice({
  name: "websocket",
  variables: {
    WS_MAX_FRAME_BYTES: positiveInt.default(65_536),
    WS_MAX_BUFFERED_BYTES: positiveInt.default(1_048_576),
    WS_MAX_CONNECTIONS_PER_USER: positiveInt.default(20),
    WS_MAX_CHANNELS_PER_SOCKET: positiveInt.default(100),
    WS_MAX_BAD_FRAMES: positiveInt.default(10),
    WS_IDLE_TIMEOUT_MS: positiveInt.default(60_000),
  },
  settings: (env) => ({
    /** Larger client frames get an error reply; frames over 4× this close the socket (1009). */
    maxFrameBytes: env.WS_MAX_FRAME_BYTES,
    /** Outbound bytes a socket may have queued before it is closed as a slow consumer. */
    maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
    /** Open sockets per user in this process; more are refused with HTTP 429. */
    maxConnectionsPerUser: env.WS_MAX_CONNECTIONS_PER_USER,
    maxChannelsPerSocket: env.WS_MAX_CHANNELS_PER_SOCKET,
    /** Undecodable frames in a row after which the socket is closed (protocol violation). */
    maxBadFrames: env.WS_MAX_BAD_FRAMES,
    /** A socket that sends nothing (not even a heartbeat) for this long is closed. */
    idleTimeoutMs: env.WS_IDLE_TIMEOUT_MS,
  }),
});

/** Client events per user and minute, counted in Redis across gateways; contexts add budgets of their own events. */
const rateLimits = defineSlice({
  name: "rateLimits",
  variables: {
    RATE_LIMIT_JOINS_PER_MIN: positiveInt.default(200),
    RATE_LIMIT_EVENTS_PER_MIN: positiveInt.default(60),
    RATE_LIMIT_TOTAL_PER_MIN: positiveInt.default(600),
  },
  settings: (env) => ({
    joinsPerMinute: env.RATE_LIMIT_JOINS_PER_MIN,
    /** Any client event without a budget of its own, each. */
    eventsPerMinute: env.RATE_LIMIT_EVENTS_PER_MIN,
    /** All events of a user together, whatever their names. */
    totalPerMinute: env.RATE_LIMIT_TOTAL_PER_MIN,
  }),
});

const stack = defineSlice({
  name: "stack",
  variables: {
    QUIKCHAT_STACK: z.enum(["auto", "off"]).default("auto"),
    QUIKCHAT_STACK_DIR: optionalText,
    KAFKA_CONTROLLER_PORT: port.default(9093),
    KAFKA_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default("3.9.1"),
    APICURIO_VERSION: z.string().regex(/^3\.\d+\.\d+$/, "must be an Apicurio Registry 3.x version").default("3.3.3"),
    MONGO_JAVA_SERVER_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default("1.47.0"),
    JAVA_HOME: optionalText,
  },
  settings: (env) => ({
    /** `auto`: `npm start` and the tests start local components for loopback addresses. */
    mode: env.QUIKCHAT_STACK,
    dir: env.QUIKCHAT_STACK_DIR ?? `${projectRoot()}/.stack`,
    kafkaControllerPort: env.KAFKA_CONTROLLER_PORT,
    kafkaVersion: env.KAFKA_VERSION,
    registryVersion: env.APICURIO_VERSION,
    mongoVersion: env.MONGO_JAVA_SERVER_VERSION,
    /** The JDK for the stack's Java servers; otherwise `java` on PATH, or a newer JDK under /usr/lib/jvm when one needs it. */
    ...defined({ javaHome: env.JAVA_HOME }),
  }),
});

/** The platform's slices, in the order problems are reported. */
export const CORE_SLICES = [service, kafka, registry, redis, mysql, mongo, auth, serverApi, websocket, rateLimits, stack] as const;

/** The platform's configuration: what every role and tool reads, whatever the contexts. */
export type CoreConfig = SlicesConfig<typeof CORE_SLICES>;
