import type { Command } from "commander";
import type { FastifyPluginAsync } from "fastify";
import type { Redis } from "ioredis";
import type { MongoClient } from "mongodb";
import type { Pool } from "mysql2/promise";
import type { Registry } from "prom-client";
import type { AvroCodec } from "../infra/avro/avro-codec.js";
import type { StackSpec } from "../infra/stack/types.js";
import type { ConsumedRecord } from "../infra/kafka/record-consumer.js";
import type { Logger } from "../infra/log/logger.js";
import type { ProjectionMetrics } from "../infra/metrics/service-metrics.js";
import type { ConfigSlice } from "./config/config-slice.js";
import type { CoreConfig } from "./config/core-config.js";
import { DEPENDENCIES, PLATFORM_DEPENDENCIES, type Dependency } from "./dependencies.js";
import type { CommandBus } from "./gateway/command-bus.js";
import type { ChannelSource } from "./gateway/pubsub-hub.js";
import type { Authenticate } from "./gateway/rest-support.js";
import type { ActionRateLimiter, RateLimitBudget } from "./phoenix/action-rate-limiter.js";
import type { ChannelFamily } from "./phoenix/channel.js";
import type { ConnectionLifecycle } from "./phoenix/connection-lifecycle.js";
import type { ConnectionRegistry } from "./phoenix/connection-registry.js";
import type { OpenUserChannelPart } from "./phoenix/identity-families.js";
import type { Ports } from "./ports.js";
import type { ServerMethod } from "./gateway/server-api/server-method.js";
import type { AnyProcessorDefinition } from "./processor/processor-definition.js";
import type { RebuildableSink } from "./projection/rebuild.js";

/**
 * One bounded context, whole: what it contributes to each role of the service and to the
 * operator tools. `src/contexts/index.ts` lists every context; the roles (`quikchat start`) and
 * the tools iterate that list and never name a context themselves, so adding a context is its
 * `.avsc` files, its folder and one line there.
 *
 * Every hook is optional and receives the context's own settings (its configuration slice).
 * Hooks run in the order of the list, so a context may read a {@link Ports port} that one listed
 * before it provides.
 */
export interface ContextModule<Name extends string = string, Settings = unknown> {
  /** Its folder under `src/contexts/`, and the key of its settings in the configuration. */
  readonly name: Name;
  /** Its slice of the configuration; its `name` is the context's. */
  readonly config?: ConfigSlice<Name, Settings>;
  /**
   * The stores it reads or writes with these settings (`mysql`, `mongo`), whatever the role,
   * beyond the platform's own Kafka, schema registry and Redis. A process connects to, waits for
   * and reports in `/health` only what its contexts declare; a context reaching a store it does
   * not declare (`kit.pool`, `kit.mongo`) fails at once.
   */
  dependencies?(settings: Settings): readonly Dependency[];
  /**
   * Servers of the local stack it needs with these settings besides the dependencies (the calls'
   * coturn while no TURN server is configured): `quikchat stack up`, the tests' setup and `start`
   * with QUIKCHAT_STACK=auto bring them up with the rest.
   */
  localServers?(settings: Settings): LocalServers;
  /** The per-user budgets of its client events, shared by the socket and REST across gateways. */
  rateLimits?(settings: Settings): readonly RateLimitBudget[];
  /** The aggregates it decides (processor role). */
  processors?(settings: Settings): readonly AnyProcessorDefinition[];
  /** Its read models (projector role, `quikchat projections …`). */
  projections?(kit: ProjectionKit, settings: Settings): readonly ContextProjection[];
  /** What it serves on a gateway: channel families, REST routes, reactions to sockets opening and closing. */
  gateway?(kit: GatewayKit, settings: Settings): Promise<GatewayPart>;
  /**
   * Its part of the notifier role: what it runs there (the notifications context's notifier), or
   * the ports it offers to what runs there (the devices read model). Started after the other
   * roles' parts of the process, closed in reverse order.
   */
  notifier?(kit: NotifierKit, settings: Settings): Promise<NotifierPart>;
  /** Its operator commands under `quikchat` (e.g. `users disconnect`). */
  tools?(program: Command, kit: ToolKit): void;
}

/** The servers of the local stack a context may ask for (see {@link ContextModule.localServers}). */
export type LocalServers = Pick<StackSpec, "coturn" | "s3proxy">;

/** What the command line gives a context's operator commands. */
export interface ToolKit {
  /**
   * Runs `work` with a command bus of the tool's own, sending as a gateway does (outcomes come
   * back to the tool); connects once the dependencies answer and closes after. A refusal or a
   * failure to get an answer rejects with a one-line error for the operator.
   */
  withCommandBus<T>(work: (bus: CommandBus) => Promise<T>): Promise<T>;
}

/** Declares a context module, inferring its name and settings. */
export function defineContext<Name extends string, Settings = undefined>(module: ContextModule<Name, Settings>): ContextModule<Name, Settings> {
  if (module.config !== undefined && module.config.name !== module.name) {
    throw new Error(`the configuration slice of the ${module.name} context is named ${module.config.name}`);
  }
  return module;
}

/**
 * The dependencies a process of `modules` uses: the platform's and those its contexts declare
 * with their settings, in {@link DEPENDENCIES} order. Only these are connected to, brought up by
 * the local stack, waited for at start and reported by `/health`.
 */
export function usedDependencies(modules: readonly ContextModule<string, unknown>[], settings: (module: ContextModule<string, unknown>) => unknown): Dependency[] {
  const used = new Set<Dependency>(PLATFORM_DEPENDENCIES);
  for (const module of modules) {
    for (const dependency of module.dependencies?.(settings(module)) ?? []) used.add(dependency);
  }
  return DEPENDENCIES.filter((dependency) => used.has(dependency));
}

/** The store connections of a process: made only when a context of it declares the store. */
export interface StoreConnections {
  readonly pool?: Pool;
  readonly mongo?: MongoClient;
}

/**
 * `kit` as `module` sees it: `pool` and `mongo` answer only if the module declares `mysql` and
 * `mongo` (with `settings`), and throw otherwise, naming the context, so that what a process
 * connects to is what its contexts declare.
 */
export function kitFor<Kit extends { readonly pool: Pool; readonly mongo: MongoClient }>(
  module: ContextModule<string, unknown>,
  settings: unknown,
  kit: Omit<Kit, "pool" | "mongo">,
  connections: StoreConnections,
): Kit {
  const declared = module.dependencies?.(settings) ?? [];
  const store = <T>(dependency: Dependency, connection: T | undefined): T => {
    if (!declared.includes(dependency) || connection === undefined) {
      throw new Error(`the ${module.name} context uses ${dependency} without declaring it in its dependencies`);
    }
    return connection;
  };
  return Object.defineProperties(
    { ...kit },
    {
      pool: { enumerable: true, get: () => store("mysql", connections.pool) },
      mongo: { enumerable: true, get: () => store("mongo", connections.mongo) },
    },
  ) as Kit;
}

/** What a process gives the contexts' projections: connections it owns and closes. */
export interface ProjectionKit {
  readonly config: CoreConfig;
  readonly codec: AvroCodec;
  readonly logger: Logger;
  /** MySQL, for a context that declares `mysql`. */
  readonly pool: Pool;
  /** MongoDB, for a context that declares `mongo`. */
  readonly mongo: MongoClient;
  /** Publishes deltas (shared; never a subscriber). */
  readonly redis: Redis;
  /** A Redis connection of the caller's own (a store that WATCHes), closed with the process. */
  redisConnection(name: string): Redis;
  readonly metrics: ProjectionMetrics;
  /** Where a projection registers gauges of its own. */
  readonly registry: Registry;
  readonly ports: Ports;
}

/** A read model of a context: a projection of one event topic, its store, and how to run it. */
export interface ContextProjection {
  /** Its consumer group (`quikchat.projection.<name>`), its checkpoints, its name in `quikchat projections`. */
  readonly name: string;
  /** The events topic it reads, without the topic prefix. */
  readonly topic: string;
  /** Its read model with its checkpoints, for the tools (status, rebuild); made on each call. */
  store(): RebuildableSink & { ensureSchema?(): Promise<void> };
  /** After a rebuild's commit: keeps caches in step with the rebuilt read model; never publishes. */
  afterRebuild?(records: readonly ConsumedRecord[]): Promise<void>;
  /** Runs it live: consumes from its checkpoints and publishes its deltas. */
  start(): Promise<RunningProjection>;
}

/** A projection running in this process. */
export interface RunningProjection {
  /** Whether it has its partitions yet, and whether its read model has reached the end they had then (see `ProjectionRuntime.state`). */
  state(): "starting" | "catching_up" | "live";
  close(): Promise<void>;
}

/** What a notifier process gives the contexts. */
export interface NotifierKit {
  readonly config: CoreConfig;
  readonly codec: AvroCodec;
  readonly logger: Logger;
  /** Shared; never a subscriber. */
  readonly redis: Redis;
  /** MySQL, for a context that declares `mysql`. */
  readonly pool: Pool;
  /** MongoDB, for a context that declares `mongo`. */
  readonly mongo: MongoClient;
  readonly registry: Registry;
  readonly ports: Ports;
}

/** A context's part of the notifier role. */
export interface NotifierPart {
  /** Whether it serves yet (its consumer has joined its group); `/health/ready` waits for it. Ready when absent. */
  ready?(): boolean;
  /** Stops what it started: the batch in hand is left for the next notifier, producers flush. */
  close?(): Promise<void>;
}

/** What a gateway process gives the contexts. */
export interface GatewayKit {
  readonly config: CoreConfig;
  readonly logger: Logger;
  /** Commands (shared; never a subscriber). */
  readonly redis: Redis;
  /** MySQL, for a context that declares `mysql`. */
  readonly pool: Pool;
  /** MongoDB, for a context that declares `mongo`. */
  readonly mongo: MongoClient;
  /** Every Redis pub/sub subscription of the gateway goes through this one subscriber. */
  readonly hub: ChannelSource;
  readonly bus: CommandBus;
  /** This gateway process: the node id plus a per-start suffix, so a restarted gateway is a new one. */
  readonly gatewayId: string;
  /** The open sockets of this gateway (to close or extend a user's). */
  readonly connections: ConnectionRegistry;
  /** Bearer authentication of REST requests. */
  readonly authenticate: Authenticate;
  /** The per-user budgets, shared with the socket (each REST route counts as one event name). */
  readonly rateLimiter: ActionRateLimiter;
  readonly registry: Registry;
  readonly ports: Ports;
}

/** A context's part of a gateway. */
export interface GatewayPart {
  /** The topic families it serves. */
  readonly families?: readonly ChannelFamily[];
  /** What it pushes to (and handles on) `user:{userId}`. */
  readonly userChannel?: OpenUserChannelPart;
  /** Its REST routes, registered after every context's part is made. */
  readonly routes?: FastifyPluginAsync;
  /** Its methods of the server API for backends (HTTP `POST /api/server/<name>` and gRPC). */
  readonly serverMethods?: readonly ServerMethod[];
  /** Told of every socket that opens and closes. */
  readonly lifecycle?: ConnectionLifecycle;
  /** Its read models an operator may look up by id on the web console (read-only, operators only). */
  readonly lookups?: readonly ReadModelLookup[];
  /**
   * Counters measured here, for `/health` `stats`; a read model's may be read when asked. One that
   * fails or takes over 2 s is left out of that answer.
   */
  stats?(): Readonly<Record<string, number>> | Promise<Readonly<Record<string, number>>>;
  /** Stops what it started; called in reverse order of the list, before the connections close. */
  close?(): Promise<void>;
}

/** A read model an operator looks up by one id on the console, e.g. the presence of a workspace. */
export interface ReadModelLookup {
  /** Its id in the console's URLs (`workspace-presence`). */
  readonly id: string;
  /** What it shows (`Presence of a workspace`). */
  readonly title: string;
  /** What the id names (`workspace id`). */
  readonly keyName: string;
  /** What the read model holds for `key` now, as JSON; reads only. */
  read(key: string): Promise<unknown>;
}
