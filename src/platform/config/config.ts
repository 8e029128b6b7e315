import { hostname } from "node:os";
import { z } from "zod";
import { projectRoot, projectVersion } from "./project.js";

/**
 * Every environment variable the service reads. With none set, each points at the local
 * stack that `quikchat stack up` starts on this machine.
 */
const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const optional = z.string().min(1).optional();
const list = (fallback: string) =>
  z.string().default(fallback).transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));
const url = (protocols: readonly string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: port.default(4000),
  HOST: z.string().min(1).default("0.0.0.0"),
  NODE_NAME: optional,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),

  KAFKA_BROKERS: list("127.0.0.1:9092").refine(
    (brokers) => brokers.length > 0 && brokers.every((broker) => /^[^\s:]+:\d{1,5}$/.test(broker)),
    "must be a comma-separated list of host:port",
  ),
  KAFKA_CLIENT_ID: z.string().min(1).default("quikchat"),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, "may hold letters, digits, '.', '_' and '-' only").default(""),
  KAFKA_PARTITIONS: positiveInt.default(6),
  KAFKA_REPLICATION_FACTOR: positiveInt.default(1),
  KAFKA_EPHEMERAL_RETENTION_MS: positiveInt.default(3_600_000),
  SCHEMA_REGISTRY_URL: url(["http:", "https:"]).default("http://127.0.0.1:8081/apis/ccompat/v7"),
  SCHEMA_REGISTRY_USERNAME: optional,
  SCHEMA_REGISTRY_PASSWORD: optional,

  REDIS_URL: url(["redis:", "rediss:"]).default("redis://127.0.0.1:6379"),
  DATABASE_URL: url(["mysql:", "mariadb:"]).default("mysql://root@127.0.0.1:3306/quikchat_realtime"),
  POOL_SIZE: positiveInt.default(10),
  MONGO_URL: url(["mongodb:", "mongodb+srv:"]).optional(),
  MONGODB_URL: url(["mongodb:", "mongodb+srv:"]).optional(),
  HISTORY_STORE: z.enum(["mysql", "mongo"]).default("mysql"),

  JWT_SECRET: optional,
  JWT_ISSUER: optional,
  JWT_AUDIENCE: optional,
  JWT_JWKS_URL: url(["http:", "https:"]).optional(),
  JWT_PUBLIC_KEY: optional,
  SECRET_KEY_BASE: optional,

  WS_MAX_FRAME_BYTES: positiveInt.default(65_536),
  WS_MAX_BUFFERED_BYTES: positiveInt.default(1_048_576),
  WS_MAX_CONNECTIONS_PER_USER: positiveInt.default(20),
  WS_MAX_CHANNELS_PER_SOCKET: positiveInt.default(100),
  WS_MAX_BAD_FRAMES: positiveInt.default(10),
  WS_IDLE_TIMEOUT_MS: positiveInt.default(60_000),
  RATE_LIMIT_MESSAGES_PER_MIN: positiveInt.default(120),
  RATE_LIMIT_TYPING_PER_MIN: positiveInt.default(60),
  RATE_LIMIT_JOINS_PER_MIN: positiveInt.default(200),
  RATE_LIMIT_EVENTS_PER_MIN: positiveInt.default(60),
  RATE_LIMIT_TOTAL_PER_MIN: positiveInt.default(600),

  PRESENCE_GATEWAY_HEARTBEAT_MS: positiveInt.default(5_000),
  PRESENCE_GATEWAY_STALE_MS: positiveInt.default(15_000),
  PRESENCE_SWEEP_INTERVAL_MS: positiveInt.default(5_000),
  PRESENCE_CONNECTION_TTL_MS: positiveInt.default(900_000),
  PRESENCE_DIFF_INTERVAL_MS: positiveInt.default(100),
  TYPING_TIMEOUT_MS: positiveInt.default(5_000),
  TYPING_COALESCE_MS: positiveInt.default(2_000),

  STUN_SERVERS: list("stun:stun.l.google.com:19302"),
  STUN_SERVER_URL: optional,
  TURN_SERVERS: list(""),
  TURN_SERVER_URL: optional,
  TURN_SECRET: optional,
  TURN_TTL: positiveInt.default(86_400),
  TURN_USERNAME: optional,
  TURN_CREDENTIAL: optional,

  APNS_KEY_ID: optional,
  APNS_TEAM_ID: optional,
  APNS_KEY_PATH: optional,
  APNS_BUNDLE_ID: optional,
  APNS_ENVIRONMENT: z.enum(["sandbox", "production"]).default("sandbox"),
  FCM_SERVER_KEY: optional,
  FIREBASE_PROJECT_ID: optional,
  FIREBASE_SERVICE_ACCOUNT: optional,

  EMAIL_PROVIDER: z.enum(["none", "smtp", "sendgrid", "ses", "mailgun"]).default("none"),
  EMAIL_FROM: z.string().email().default("noreply@quikchat.local"),
  SMTP_URL: url(["smtp:", "smtps:"]).optional(),
  SENDGRID_API_KEY: optional,
  MAILGUN_API_KEY: optional,
  MAILGUN_DOMAIN: optional,
  AWS_REGION: optional,

  QUIKCHAT_STACK: z.enum(["auto", "off"]).default("auto"),
  QUIKCHAT_STACK_DIR: optional,
  KAFKA_CONTROLLER_PORT: port.default(9093),
  KAFKA_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default("3.9.1"),
  APICURIO_VERSION: z.string().regex(/^3\.\d+\.\d+$/, "must be an Apicurio Registry 3.x version").default("3.3.3"),
  MONGO_JAVA_SERVER_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default("1.47.0"),
  JAVA_HOME: optional,
});

/** The names of all variables `loadConfig` understands (docker-compose.yml is checked against it). */
export const KNOWN_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

type Env = z.infer<typeof envSchema>;

export type EmailProvider = Env["EMAIL_PROVIDER"];
export type HistoryStore = Env["HISTORY_STORE"];

/** The validated, frozen configuration of one process. */
export interface Config {
  readonly service: {
    readonly env: Env["NODE_ENV"];
    readonly version: string;
    readonly port: number;
    readonly host: string;
    /** Unique per process: gateways receive command outcomes on `reply:<nodeId>`. */
    readonly nodeId: string;
    readonly logLevel: Env["LOG_LEVEL"];
    readonly shutdownTimeoutMs: number;
  };
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    /** Prepended to every topic name; empty in production, set per test run for isolation. */
    readonly topicPrefix: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly ephemeralRetentionMs: number;
  };
  readonly registry: { readonly url: string; readonly username?: string; readonly password?: string };
  readonly redis: { readonly url: string };
  readonly mysql: { readonly url: string; readonly poolSize: number };
  readonly mongo: { readonly url: string };
  readonly history: { readonly store: HistoryStore };
  readonly auth: {
    readonly jwtSecret: string;
    readonly issuer?: string;
    readonly audience?: string;
    readonly jwksUrl?: string;
    readonly publicKey?: string;
    /**
     * Whether HS256 tokens signed with `jwtSecret` are accepted: false when only
     * JWT_JWKS_URL/JWT_PUBLIC_KEY is set, so the development secret is never trusted.
     */
    readonly acceptHs256: boolean;
  };
  /** Limits of one Phoenix socket (`/socket/websocket`). */
  readonly websocket: {
    /** Larger client frames get an error reply; frames over 4× this close the socket (1009). */
    readonly maxFrameBytes: number;
    /** Outbound bytes a socket may have queued before it is closed as a slow consumer. */
    readonly maxBufferedBytes: number;
    /** Open sockets per user in this process; more are refused with HTTP 429. */
    readonly maxConnectionsPerUser: number;
    readonly maxChannelsPerSocket: number;
    /** Undecodable frames in a row after which the socket is closed (protocol violation). */
    readonly maxBadFrames: number;
    /** A socket that sends nothing (not even a heartbeat) for this long is closed. */
    readonly idleTimeoutMs: number;
  };
  /** Client events per user and minute, counted in Redis across gateways. */
  readonly rateLimits: {
    /** `message:send` and `new_message`, each. */
    readonly messagesPerMinute: number;
    /** `typing`, `typing:start`, `typing:stop`, each. */
    readonly typingPerMinute: number;
    readonly joinsPerMinute: number;
    /** Any other client event, each. */
    readonly eventsPerMinute: number;
    /** All events of a user together, whatever their names. */
    readonly totalPerMinute: number;
  };
  readonly presence: {
    /** How often each gateway writes its liveness to Redis. */
    readonly gatewayHeartbeatMs: number;
    /** A gateway whose liveness is older than this is dead: the sweeper closes its connections. */
    readonly gatewayStaleMs: number;
    /** How often gateways look for dead gateways. */
    readonly sweepIntervalMs: number;
    /** A connection not refreshed for this long expires (the processor's staleness timer); gateways refresh theirs well before. */
    readonly connectionTtlMs: number;
    /** presence_diff pushes are batched per workspace over this window (the first change after a quiet window goes out at once). */
    readonly diffIntervalMs: number;
  };
  readonly typing: {
    /** A typing indicator disappears this long after its last renewal. */
    readonly timeoutMs: number;
    /** A gateway forwards at most one renewal per user and conversation within this window. */
    readonly coalesceMs: number;
  };
  readonly webrtc: {
    readonly stunServers: readonly string[];
    readonly turnServers: readonly string[];
    readonly turnSecret?: string;
    readonly turnTtlSeconds: number;
    readonly turnUsername?: string;
    readonly turnCredential?: string;
  };
  readonly apns: {
    readonly keyId?: string;
    readonly teamId?: string;
    readonly keyPath?: string;
    readonly bundleId?: string;
    readonly environment: Env["APNS_ENVIRONMENT"];
  };
  readonly fcm: { readonly serverKey?: string; readonly projectId?: string; readonly serviceAccount?: string };
  readonly email: {
    readonly provider: EmailProvider;
    readonly from: string;
    readonly smtpUrl?: string;
    readonly sendgridApiKey?: string;
    readonly mailgunApiKey?: string;
    readonly mailgunDomain?: string;
    readonly awsRegion?: string;
  };
  readonly stack: {
    /** `auto`: `npm start` and the tests start local components for loopback addresses. */
    readonly mode: Env["QUIKCHAT_STACK"];
    readonly dir: string;
    readonly kafkaControllerPort: number;
    readonly kafkaVersion: string;
    readonly registryVersion: string;
    readonly mongoVersion: string;
    /** The JDK for the stack's Java servers; otherwise `java` on PATH, or a newer JDK under /usr/lib/jvm when one needs it. */
    readonly javaHome?: string;
  };
}

/** Thrown by `loadConfig` with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** A development-only signing key; production refuses to start without JWT_SECRET or a public key. */
const DEVELOPMENT_JWT_SECRET = "quikchat-development-secret-change-me";

/**
 * Validates the environment and returns the configuration, or throws a `ConfigError` that
 * lists every invalid variable at once. Empty strings count as unset.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`);
  if (parsed.success) problems.push(...crossFieldProblems(parsed.data));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(toConfig(parsed.data));
}

function crossFieldProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.NODE_ENV === "production" && !env.JWT_SECRET && !env.JWT_JWKS_URL && !env.JWT_PUBLIC_KEY) {
    problems.push("JWT_SECRET: required in production (or JWT_JWKS_URL / JWT_PUBLIC_KEY)");
  }
  if (env.JWT_SECRET !== undefined && env.JWT_SECRET.length < 32) {
    problems.push("JWT_SECRET: must be at least 32 characters for HS256");
  }
  if (env.EMAIL_PROVIDER === "smtp" && !env.SMTP_URL) problems.push("SMTP_URL: required when EMAIL_PROVIDER=smtp");
  if (env.EMAIL_PROVIDER === "sendgrid" && !env.SENDGRID_API_KEY) {
    problems.push("SENDGRID_API_KEY: required when EMAIL_PROVIDER=sendgrid");
  }
  if (env.EMAIL_PROVIDER === "mailgun" && (!env.MAILGUN_API_KEY || !env.MAILGUN_DOMAIN)) {
    problems.push("MAILGUN_API_KEY, MAILGUN_DOMAIN: required when EMAIL_PROVIDER=mailgun");
  }
  if (env.EMAIL_PROVIDER === "ses" && !env.AWS_REGION) problems.push("AWS_REGION: required when EMAIL_PROVIDER=ses");
  const apns = [env.APNS_KEY_ID, env.APNS_TEAM_ID, env.APNS_KEY_PATH, env.APNS_BUNDLE_ID];
  if (apns.some(Boolean) && !apns.every(Boolean)) {
    problems.push("APNS_KEY_ID, APNS_TEAM_ID, APNS_KEY_PATH, APNS_BUNDLE_ID: set all four or none");
  }
  if (env.MONGO_URL && env.MONGODB_URL && env.MONGO_URL !== env.MONGODB_URL) {
    problems.push("MONGO_URL, MONGODB_URL: both set to different values; set one");
  }
  if (env.PRESENCE_GATEWAY_STALE_MS <= env.PRESENCE_GATEWAY_HEARTBEAT_MS) {
    problems.push("PRESENCE_GATEWAY_STALE_MS: must exceed PRESENCE_GATEWAY_HEARTBEAT_MS, or live gateways are swept");
  }
  if (env.TYPING_COALESCE_MS >= env.TYPING_TIMEOUT_MS) {
    problems.push("TYPING_COALESCE_MS: must be below TYPING_TIMEOUT_MS, or indicators expire while users type");
  }
  return problems;
}

function toConfig(env: Env): Config {
  const stunServers = env.STUN_SERVER_URL ? [env.STUN_SERVER_URL, ...env.STUN_SERVERS] : env.STUN_SERVERS;
  const turnServers = env.TURN_SERVER_URL ? [env.TURN_SERVER_URL, ...env.TURN_SERVERS] : env.TURN_SERVERS;
  return {
    service: {
      env: env.NODE_ENV,
      version: projectVersion(),
      port: env.PORT,
      host: env.HOST,
      nodeId: env.NODE_NAME ?? `${hostname()}-${process.pid}`,
      logLevel: env.LOG_LEVEL,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    },
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      topicPrefix: env.KAFKA_TOPIC_PREFIX,
      partitions: env.KAFKA_PARTITIONS,
      replicationFactor: env.KAFKA_REPLICATION_FACTOR,
      ephemeralRetentionMs: env.KAFKA_EPHEMERAL_RETENTION_MS,
    },
    registry: {
      url: env.SCHEMA_REGISTRY_URL.replace(/\/+$/, ""),
      ...defined({ username: env.SCHEMA_REGISTRY_USERNAME, password: env.SCHEMA_REGISTRY_PASSWORD }),
    },
    redis: { url: env.REDIS_URL },
    mysql: { url: env.DATABASE_URL, poolSize: env.POOL_SIZE },
    mongo: { url: env.MONGO_URL ?? env.MONGODB_URL ?? "mongodb://127.0.0.1:27017/quikchat" },
    history: { store: env.HISTORY_STORE },
    auth: {
      jwtSecret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
      acceptHs256: env.JWT_SECRET !== undefined || (env.JWT_JWKS_URL === undefined && env.JWT_PUBLIC_KEY === undefined),
      ...defined({ issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, jwksUrl: env.JWT_JWKS_URL, publicKey: env.JWT_PUBLIC_KEY }),
    },
    websocket: {
      maxFrameBytes: env.WS_MAX_FRAME_BYTES,
      maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
      maxConnectionsPerUser: env.WS_MAX_CONNECTIONS_PER_USER,
      maxChannelsPerSocket: env.WS_MAX_CHANNELS_PER_SOCKET,
      maxBadFrames: env.WS_MAX_BAD_FRAMES,
      idleTimeoutMs: env.WS_IDLE_TIMEOUT_MS,
    },
    rateLimits: {
      messagesPerMinute: env.RATE_LIMIT_MESSAGES_PER_MIN,
      typingPerMinute: env.RATE_LIMIT_TYPING_PER_MIN,
      joinsPerMinute: env.RATE_LIMIT_JOINS_PER_MIN,
      eventsPerMinute: env.RATE_LIMIT_EVENTS_PER_MIN,
      totalPerMinute: env.RATE_LIMIT_TOTAL_PER_MIN,
    },
    presence: {
      gatewayHeartbeatMs: env.PRESENCE_GATEWAY_HEARTBEAT_MS,
      gatewayStaleMs: env.PRESENCE_GATEWAY_STALE_MS,
      sweepIntervalMs: env.PRESENCE_SWEEP_INTERVAL_MS,
      connectionTtlMs: env.PRESENCE_CONNECTION_TTL_MS,
      diffIntervalMs: env.PRESENCE_DIFF_INTERVAL_MS,
    },
    typing: { timeoutMs: env.TYPING_TIMEOUT_MS, coalesceMs: env.TYPING_COALESCE_MS },
    webrtc: {
      stunServers,
      turnServers,
      turnTtlSeconds: env.TURN_TTL,
      ...defined({ turnSecret: env.TURN_SECRET, turnUsername: env.TURN_USERNAME, turnCredential: env.TURN_CREDENTIAL }),
    },
    apns: {
      environment: env.APNS_ENVIRONMENT,
      ...defined({ keyId: env.APNS_KEY_ID, teamId: env.APNS_TEAM_ID, keyPath: env.APNS_KEY_PATH, bundleId: env.APNS_BUNDLE_ID }),
    },
    fcm: defined({ serverKey: env.FCM_SERVER_KEY, projectId: env.FIREBASE_PROJECT_ID, serviceAccount: env.FIREBASE_SERVICE_ACCOUNT }),
    email: {
      provider: env.EMAIL_PROVIDER,
      from: env.EMAIL_FROM,
      ...defined({
        smtpUrl: env.SMTP_URL,
        sendgridApiKey: env.SENDGRID_API_KEY,
        mailgunApiKey: env.MAILGUN_API_KEY,
        mailgunDomain: env.MAILGUN_DOMAIN,
        awsRegion: env.AWS_REGION,
      }),
    },
    stack: {
      mode: env.QUIKCHAT_STACK,
      dir: env.QUIKCHAT_STACK_DIR ?? `${projectRoot()}/.stack`,
      kafkaControllerPort: env.KAFKA_CONTROLLER_PORT,
      kafkaVersion: env.KAFKA_VERSION,
      registryVersion: env.APICURIO_VERSION,
      mongoVersion: env.MONGO_JAVA_SERVER_VERSION,
      ...defined({ javaHome: env.JAVA_HOME }),
    },
  };
}

/** Drops undefined entries so optional properties are absent rather than `undefined`. */
function defined<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
