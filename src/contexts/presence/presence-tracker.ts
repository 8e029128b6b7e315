import type { Redis } from "ioredis";
import type { PresenceSettings } from "./config.js";
import type { CommandMeta, ExpirePresence } from "../../platform/contract/generated/avro-types.js";
import type { Logger } from "../../infra/log/logger.js";
import type { Counter } from "prom-client";
import { presenceKeys, type GatewayConnection } from "./projections/presence/presence-model.js";
import type { SocketIdentity } from "../../platform/phoenix/channel.js";
import type { ClientInfo, ConnectionLifecycle } from "../../platform/phoenix/connection-lifecycle.js";
import type { DispatchedCommand } from "../../platform/gateway/command-bus.js";
import { ServiceError } from "../../platform/errors/error-codes.js";
import { PRESENCE_LIMITS } from "./domain/decide.js";

/** Sends presence commands without waiting for their outcome: in one produce, in order; rejects when Kafka did not take them. */
export interface PresenceCommands {
  dispatchAll(context: "presence", commands: readonly DispatchedCommand[]): Promise<void>;
}

/** The open connections the presence read model holds for a gateway (for the sweeper). */
export interface GatewayDirectory {
  gatewayConnections(gatewayId: string): Promise<ReadonlyMap<string, GatewayConnection>>;
}

export interface PresenceTrackerDeps {
  readonly commands: PresenceCommands;
  /** Holds the gateways' liveness (`presence:gateways`) and the sweep lock. */
  readonly redis: Redis;
  readonly directory: GatewayDirectory;
  /** Unique per gateway process: a restarted gateway is a new one, and its predecessor is swept. */
  readonly gatewayId: string;
  readonly topicPrefix: string;
  readonly settings: PresenceSettings;
  readonly logger: Logger;
  readonly metrics?: { readonly presenceOperations: Pick<Counter<"operation">, "inc"> };
  /** Epoch milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/** Commands sent in one produce at most. */
const MAX_BATCH = 500;
/** Past this many unsent commands (Kafka down for long), connection refreshes are skipped: opens and closes matter more. */
const MAX_OUTBOX_FOR_REFRESH = 10_000;
/** How long `close` waits for unsent commands before giving up on them. */
const CLOSE_DRAIN_MS = 5_000;

interface LocalConnection {
  readonly identity: SocketIdentity;
  refreshedAt: number;
  /** The topics it views (JoinTopic issued, no LeaveTopic since). */
  readonly topics: Set<string>;
}

/**
 * The gateway's side of presence. Every socket that opens becomes a `ConnectClient` command and
 * every close a `DisconnectClient` (keyed by user, so the presence processor sees them in
 * order); each open connection is refreshed (`PresenceHeartbeat`) well before the processor's
 * staleness deadline. The gateway writes its liveness to `presence:gateways` every
 * `gatewayHeartbeatMs`. A socket joining or leaving a topic whose viewers are shown becomes a
 * `JoinTopic` or `LeaveTopic` of its connection, between its connect and its close; a socket that
 * closes leaves its topics with its `DisconnectClient` alone (the processor says `TopicLeft` for
 * each). Every `sweepIntervalMs` one gateway (a Redis lock elects it per sweep)
 * looks for gateways silent for `gatewayStaleMs` — killed without closing their sockets — and
 * expires their connections user by user (`ExpirePresence` gateway_down). A swept gateway leaves
 * the liveness set once the read model holds none of its connections.
 *
 * Commands are fire-and-forget for the caller but never dropped: they wait in an outbox, in the
 * order they were issued (a user's connect always before its close), and go out in batches; a
 * batch Kafka did not take is sent again, with backoff, before anything after it. Only while more
 * than 10,000 wait are connection refreshes skipped. On `close`, what is still unsent gets a few
 * seconds; after that the staleness deadline is the backstop.
 */
export class PresenceTracker implements ConnectionLifecycle {
  private readonly local = new Map<string, LocalConnection>();
  private readonly outbox: DispatchedCommand[] = [];
  private draining: Promise<void> | undefined;
  private readonly keys;
  private readonly now: () => number;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** Numbers the commands of a connection that may repeat (a topic joined, left, joined again), for their ids. */
  private sequence = 0;

  constructor(private readonly deps: PresenceTrackerDeps) {
    this.keys = presenceKeys(deps.topicPrefix);
    this.now = deps.now ?? Date.now;
  }

  /** Announces this gateway alive and starts the liveness beat, the connection refresh and the sweeper. */
  async start(): Promise<void> {
    const { settings } = this.deps;
    await this.beat();
    const every = (ms: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => {
        task().catch((error: unknown) => this.deps.logger.warn({ err: error }, "presence upkeep failed"));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(settings.gatewayHeartbeatMs, () => this.beat());
    every(settings.sweepIntervalMs, () => this.sweep());
    every(Math.max(1_000, Math.floor(settings.connectionTtlMs / 4)), () => Promise.resolve(this.refresh()));
  }

  opened(identity: SocketIdentity, client: ClientInfo): void {
    this.local.set(identity.connectionId, { identity, refreshedAt: this.now(), topics: new Set() });
    this.issue("connect", "ConnectClient", identity, `connect:${identity.connectionId}`, {
      userId: identity.userId,
      connectionId: identity.connectionId,
      deviceId: client.deviceId,
      gatewayId: this.deps.gatewayId,
      platform: client.platform,
    });
  }

  closed(identity: SocketIdentity, closeCode: number): void {
    if (!this.local.delete(identity.connectionId)) return;
    this.issue("disconnect", "DisconnectClient", identity, `disconnect:${identity.connectionId}`, {
      userId: identity.userId,
      connectionId: identity.connectionId,
      closeCode,
    });
  }

  /**
   * The socket now views `topic`: `JoinTopic`, unless it views it already. Does nothing for a
   * socket that has closed. Throws a ServiceError `too_many_topics` when the socket views
   * {@link PRESENCE_LIMITS}`.maxTopicsPerConnection` topics already (the processor would refuse
   * it); the topic itself is the caller's to validate.
   */
  joinTopic(identity: SocketIdentity, topic: string): void {
    const connection = this.local.get(identity.connectionId);
    if (connection === undefined || connection.topics.has(topic)) return;
    const { maxTopicsPerConnection } = PRESENCE_LIMITS;
    if (connection.topics.size >= maxTopicsPerConnection) throw new ServiceError("too_many_topics", `a socket views at most ${maxTopicsPerConnection} topics`);
    connection.topics.add(topic);
    const id = `join_topic:${identity.connectionId}:${this.sequence++}`;
    this.issue("join_topic", "JoinTopic", identity, id, { userId: identity.userId, connectionId: identity.connectionId, topic });
  }

  /** The socket no longer views `topic`: `LeaveTopic`, if it viewed it and is still open (a close leaves every topic by itself). */
  leaveTopic(identity: SocketIdentity, topic: string): void {
    if (this.local.get(identity.connectionId)?.topics.delete(topic) !== true) return;
    const id = `leave_topic:${identity.connectionId}:${this.sequence++}`;
    this.issue("leave_topic", "LeaveTopic", identity, id, { userId: identity.userId, connectionId: identity.connectionId, topic });
  }

  /** Sends `PresenceHeartbeat` for every connection not refreshed for a third of the TTL. */
  refresh(): number {
    const due = this.now() - this.deps.settings.connectionTtlMs / 3;
    let sent = 0;
    for (const connection of this.local.values()) {
      if (connection.refreshedAt > due || this.outbox.length > MAX_OUTBOX_FOR_REFRESH) continue;
      connection.refreshedAt = this.now();
      const { identity } = connection;
      this.issue("heartbeat", "PresenceHeartbeat", identity, undefined, { userId: identity.userId, connectionId: identity.connectionId });
      sent++;
    }
    return sent;
  }

  /**
   * Expires the connections of every gateway whose liveness is older than `gatewayStaleMs`;
   * resolves with the number of users it issued commands for (0 when another gateway holds the
   * sweep lock). Exposed for tests and operators; runs by itself every `sweepIntervalMs`.
   */
  async sweep(): Promise<number> {
    const { redis, settings, gatewayId, directory } = this.deps;
    const locked = await redis.set(`${this.keys.gateways}:sweeper`, gatewayId, "PX", settings.sweepIntervalMs, "NX");
    if (locked === null) return 0;
    const dead = await redis.zrangebyscore(this.keys.gateways, "-inf", this.now() - settings.gatewayStaleMs);
    let users = 0;
    for (const gateway of dead) {
      if (gateway === gatewayId) continue;
      const connections = await directory.gatewayConnections(gateway);
      if (connections.size === 0) {
        await redis.multi().zrem(this.keys.gateways, gateway).del(this.keys.gateway(gateway)).exec();
        this.deps.logger.info({ gateway }, "swept gateway has no connections left");
        continue;
      }
      const byUser = new Map<string, { workspaceId: string; connectionIds: string[] }>();
      for (const [connectionId, { userId, workspaceId }] of connections) {
        const entry = byUser.get(userId) ?? { workspaceId, connectionIds: [] };
        entry.connectionIds.push(connectionId);
        byUser.set(userId, entry);
      }
      this.deps.logger.info({ gateway, users: byUser.size, connections: connections.size }, "expiring the connections of a dead gateway");
      for (const [userId, { workspaceId, connectionIds }] of byUser) {
        const meta: CommandMeta = {
          // One command per dead gateway and user: a repeated sweep is answered from the dedupe window.
          commandId: `sweep:${gateway}:${userId}`,
          correlationId: `sweep:${gateway}`,
          actorId: "system:presence-sweeper",
          workspaceId,
          issuedAt: this.now(),
          replyTo: null,
        };
        this.deps.metrics?.presenceOperations.inc({ operation: "sweep" });
        const command: ExpirePresence = { meta, userId, reason: "gateway_down", gatewayId: gateway, connectionIds: connectionIds.sort() };
        this.send({ type: "ExpirePresence", key: userId, command });
        users++;
      }
    }
    return users;
  }

  /** Users with at least one socket on this gateway. */
  get localUsers(): number {
    return new Set([...this.local.values()].map(({ identity }) => identity.userId)).size;
  }

  /** Commands issued and not yet taken by Kafka. */
  get unsent(): number {
    return this.outbox.length;
  }

  /** Stops the upkeep and waits (a few seconds at most) for the unsent commands: the sockets' DisconnectClient on shutdown. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.draining, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_DRAIN_MS)))]);
    clearTimeout(timer);
    if (this.outbox.length > 0) this.deps.logger.warn({ unsent: this.outbox.length }, "presence commands left unsent at shutdown");
  }

  private async beat(): Promise<void> {
    await this.deps.redis.zadd(this.keys.gateways, this.now(), this.deps.gatewayId);
  }

  private issue(
    operation: "connect" | "disconnect" | "heartbeat" | "join_topic" | "leave_topic",
    type: string,
    identity: SocketIdentity,
    commandId: string | undefined,
    fields: Record<string, unknown>,
  ): void {
    const issuedAt = this.now();
    const id = commandId ?? `${operation}:${identity.connectionId}:${issuedAt}`;
    const meta: CommandMeta = {
      commandId: id,
      correlationId: id,
      actorId: identity.userId,
      workspaceId: identity.workspaceId,
      issuedAt,
      replyTo: null,
    };
    this.deps.metrics?.presenceOperations.inc({ operation });
    const command = { meta, ...fields };
    this.send({ type, key: identity.userId, command });
  }

  private send(command: DispatchedCommand): void {
    this.outbox.push(command);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    let backoff = 0;
    while (this.outbox.length > 0) {
      const batch = this.outbox.slice(0, MAX_BATCH);
      try {
        await this.deps.commands.dispatchAll("presence", batch);
        this.outbox.splice(0, batch.length);
        backoff = 0;
      } catch (error) {
        backoff = Math.min(5_000, backoff === 0 ? 200 : backoff * 2);
        this.deps.logger.warn({ err: error, unsent: this.outbox.length, retryInMs: backoff }, "presence commands not sent; retrying");
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
      }
    }
  }
}
