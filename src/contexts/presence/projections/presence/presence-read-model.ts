import type { Redis } from "ioredis";
import { resultsOf } from "../../../../infra/redis/redis-replies.js";
import { DEFAULT_STATUS, userPresenceOf } from "./presence-evolve.js";
import { groupByUser } from "../../presence-diff.js";
import { userStateFromRedis } from "./presence-redis-plan.js";
import { presenceKeys, type GatewayConnection, type PresenceConnection, type PresenceEntries, type UserPresence, type WorkspaceMeta } from "./presence-model.js";

/** A user a workspace sees online, as `GET /api/presence` lists them. */
export interface OnlineUser {
  readonly user_id: string;
  readonly status: string;
  /** Epoch milliseconds of the user's earliest open connection. */
  readonly online_at: number;
}

/**
 * The presence read model as gateways and REST read it, over Redis (layout: `presence-model.ts`).
 * Every answer is what the projection last committed: it lags the events by the projection's
 * lag, and each method reads its keys in one round trip but not at one instant with the other
 * methods (a diff published after a commit brings a reader up to date).
 */
export class PresenceReadModel {
  private readonly keys: ReturnType<typeof presenceKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = presenceKeys(prefix);
  }

  /**
   * The user's presence: what others see, the chosen status, devices and times. A user the
   * projection never saw is `offline` (chosen status `online`, the default) with no devices and
   * `last_seen` null.
   */
  async userPresence(userId: string): Promise<UserPresence> {
    const [user, connections] = resultsOf(
      await this.redis.multi().hgetall(this.keys.user(userId)).hgetall(this.keys.connections(userId)).exec(),
    ) as [Record<string, string>, Record<string, string>];
    return userPresenceOf(userStateFromRedis(userId, user, connections));
  }

  /**
   * Whether `userId` holds a live connection (open, its staleness deadline after `now`) that views
   * one of `topics` (joined it: `JoinTopic`).
   */
  async views(userId: string, topics: readonly string[], now: number): Promise<boolean> {
    return (await this.liveConnections(userId, now)).some((connection) => topics.some((topic) => connection.topics !== undefined && Object.hasOwn(connection.topics, topic)));
  }

  /** Whether `userId` holds a live connection (open, its staleness deadline after `now`), whatever it joined. */
  async connected(userId: string, now: number): Promise<boolean> {
    return (await this.liveConnections(userId, now)).length > 0;
  }

  private async liveConnections(userId: string, now: number): Promise<PresenceConnection[]> {
    const connections = await this.redis.hvals(this.keys.connections(userId));
    return connections.flatMap((json) => {
      try {
        const connection = JSON.parse(json) as PresenceConnection;
        return connection.expiresAt > now ? [connection] : [];
      } catch {
        return [];
      }
    });
  }

  /** The display names the user service gave these users, by user (absent for those it gave none). */
  async displayNames(userIds: readonly string[]): Promise<Map<string, string>> {
    if (userIds.length === 0) return new Map();
    const reads = this.redis.pipeline();
    for (const userId of userIds) reads.hget(this.keys.user(userId), "display_name");
    const names = resultsOf(await reads.exec()) as (string | null)[];
    return new Map(userIds.flatMap((userId, index) => (names[index] ? [[userId, names[index]]] : [])));
  }

  /** The users the workspace sees online (at least one connection, status not offline), earliest `online_at` first. */
  async onlineUsers(workspaceId: string): Promise<OnlineUser[]> {
    const flat = await this.redis.zrange(this.keys.online(workspaceId), 0, -1, "WITHSCORES");
    const users: { userId: string; onlineAt: number }[] = [];
    for (let index = 0; index + 1 < flat.length; index += 2) users.push({ userId: flat[index]!, onlineAt: Number(flat[index + 1]) });
    if (users.length === 0) return [];
    const reads = this.redis.pipeline();
    for (const { userId } of users) reads.hget(this.keys.user(userId), "status");
    const statuses = resultsOf(await reads.exec()) as (string | null)[];
    return users.map(({ userId, onlineAt }, index) => ({ user_id: userId, status: statuses[index] ?? DEFAULT_STATUS, online_at: onlineAt }));
  }

  /**
   * The `presence_state` of the workspace's `presence:<workspaceId>` channel: every connection
   * of the users it sees online, as metas grouped by user (users by id, metas by `online_at`).
   */
  async workspaceState(workspaceId: string): Promise<PresenceEntries> {
    return this.entriesAt(this.keys.metas(workspaceId));
  }

  /**
   * The `presence_state` of the viewers of `topic` (`comments:{videoId}`) in the workspace: a meta
   * per connection viewing it, of the users the workspace sees online, grouped as
   * {@link workspaceState} groups them.
   */
  async topicViewers(workspaceId: string, topic: string): Promise<PresenceEntries> {
    return this.entriesAt(this.keys.viewers(workspaceId, topic));
  }

  /** The metas of one hash of {@link WorkspaceMeta}s, grouped by user (users by id, metas by `online_at`). */
  private async entriesAt(key: string): Promise<PresenceEntries> {
    const values = Object.values(await this.redis.hgetall(key));
    const entries = values.flatMap((json) => {
      try {
        return [JSON.parse(json) as WorkspaceMeta];
      } catch {
        return [];
      }
    });
    entries.sort(
      (a, b) =>
        compare(a.userId, b.userId) || a.meta.online_at - b.meta.online_at || compare(a.meta.connection_id, b.meta.connection_id),
    );
    return groupByUser(entries);
  }

  /** The open connections a gateway holds, by connection id: what the sweeper closes when the gateway dies. */
  async gatewayConnections(gatewayId: string): Promise<Map<string, GatewayConnection>> {
    const hash = await this.redis.hgetall(this.keys.gateway(gatewayId));
    const connections = new Map<string, GatewayConnection>();
    for (const [connectionId, json] of Object.entries(hash)) {
      try {
        connections.set(connectionId, JSON.parse(json) as GatewayConnection);
      } catch {
        // Only the projection writes these; an unreadable entry is skipped rather than failing the sweep.
      }
    }
    return connections;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
