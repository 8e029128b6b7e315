import { publishAll } from "../../../../infra/redis/redis-publish.js";
import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import { TOPICS } from "../../../../platform/contract/topics.js";
import { onlineUsersGauge } from "../../metrics.js";
import { DEFAULT_MAX_WORKSPACE_SERIES, OnlineUsersGauge } from "../../online-users-gauge.js";
import { conversationDeltaChannel, type ConversationDelta } from "../../../conversations/projections/history/history-port.js";
import { membershipReadModel } from "../../../conversations/projections/membership/membership-projection.js";
import type { MysqlMembershipStore } from "../../../conversations/projections/membership/mysql-membership-store.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startRedisProjection, type RedisProjectionDeps } from "../../../../platform/projection/redis-projection.js";
import { PRESENCE_PROJECTION, type PresenceOutcome } from "./presence-fold.js";
import { presenceDiffChannel, presenceKeys, userPresenceChannel, viewerDiffChannel, type PresenceDiffDelta, type ViewerDiffDelta } from "./presence-model.js";
import { RedisPresenceStore } from "./redis-presence-store.js";

/**
 * Projects `quikapp.presence.events` into Redis ({@link RedisPresenceStore}) and, after each
 * commit of a partition's batch that is not catching up, publishes:
 * - on {@link presenceDiffChannel}, per workspace whose view changed, one
 *   {@link PresenceDiffDelta} (the batch's joins and leaves merged);
 * - on {@link viewerDiffChannel}, per topic whose viewers changed, one {@link ViewerDiffDelta};
 * - on {@link userPresenceChannel}, the new `UserPresence` of each user whose presence changed;
 * - on {@link conversationDeltaChannel} of each of their conversations, `user_online` or
 *   `user_offline` for each user the workspace started or stopped seeing online.
 * While catching up (a restart, or a rebuild after Redis lost the read model) no diff is
 * published; instead each touched workspace, and each topic a touched user viewed, gets a
 * `resync` delta at most once per {@link RESYNC_INTERVAL_MS}, the last one after the catch-up, on
 * which gateways send their watchers a fresh `presence_state`. The `presence_online_users` gauge of each touched
 * workspace is set either way, with at most `maxWorkspaceSeries` series (see {@link OnlineUsersGauge}).
 *
 * The store gets a Redis connection of its own (WATCH); `redis` publishes.
 */
export async function startPresenceProjection(
  deps: RedisProjectionDeps & { readonly pool: Pool; readonly maxWorkspaceSeries?: number },
): Promise<ProjectionRuntime> {
  const { config, redis } = deps;
  const prefix = config.kafka.topicPrefix;
  const { store: membership } = membershipReadModel(deps.pool, redis, prefix);
  // Conversations come from the membership projection's tables: make sure they exist whichever starts first.
  await membership.ensureSchema();
  const onlineUsers =
    deps.registry === undefined ? undefined : new OnlineUsersGauge(onlineUsersGauge(deps.registry), deps.maxWorkspaceSeries ?? DEFAULT_MAX_WORKSPACE_SERIES);
  const resyncs = new ResyncSchedule(redis, deps.logger);
  return startRedisProjection(deps, {
    name: PRESENCE_PROJECTION,
    topic: TOPICS.presence.events,
    store: (own) => new RedisPresenceStore(own, prefix),
    afterCommit: async (outcome, records, { catchingUp }) => {
      if (catchingUp) resyncs.add(resyncsOf(prefix, outcome));
      else {
        const last = records[records.length - 1]!;
        try {
          await publish(redis, prefix, outcome, { partition: last.partition, offset: last.offset });
        } catch (error) {
          // The read model is right; its watchers missed a diff: they read it afresh instead.
          resyncs.add(resyncsOf(prefix, outcome));
          throw error;
        }
        await announceVisibility(redis, prefix, outcome, membership).catch((error: unknown) =>
          deps.logger.warn({ err: error }, "user_online/user_offline not announced (membership unreadable)"),
        );
      }
      if (onlineUsers !== undefined) await countOnline(redis, prefix, outcome, onlineUsers);
    },
  });
}

/** How often, at most, a presence touched while catching up is told to resync. */
const RESYNC_INTERVAL_MS = 1_000;

/** The `resync` delta of every presence the batch touched (workspaces and viewed topics), by its channel. */
function resyncsOf(prefix: string, outcome: PresenceOutcome): Map<string, PresenceDiffDelta> {
  const resync = { partition: -1, offset: -1, joins: {}, leaves: {}, resync: true } as const;
  const deltas = new Map<string, PresenceDiffDelta>();
  for (const workspaceId of outcome.workspaces) deltas.set(presenceDiffChannel(prefix, workspaceId), { workspaceId, ...resync });
  for (const { workspaceId, topic } of outcome.viewedTopics) {
    const delta: ViewerDiffDelta = { workspaceId, topic, ...resync };
    deltas.set(viewerDiffChannel(prefix, workspaceId, topic), delta);
  }
  return deltas;
}

/** Presences (by their diff channel) whose watchers must read them afresh, announced together once per interval. */
class ResyncSchedule {
  private readonly pending = new Map<string, PresenceDiffDelta>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  add(deltas: ReadonlyMap<string, PresenceDiffDelta>): void {
    for (const [channel, delta] of deltas) this.pending.set(channel, delta);
    if (this.pending.size === 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), RESYNC_INTERVAL_MS);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const pipeline = this.redis.pipeline();
    for (const [channel, delta] of this.pending) pipeline.publish(channel, JSON.stringify(delta));
    this.pending.clear();
    await pipeline.exec().catch((error: unknown) => this.logger.warn({ err: error }, "presence resync not published"));
  }
}

async function countOnline(redis: Redis, prefix: string, outcome: PresenceOutcome, onlineUsers: OnlineUsersGauge): Promise<void> {
  if (outcome.workspaces.length === 0) return;
  const keys = presenceKeys(prefix);
  const counts = redis.pipeline();
  for (const workspaceId of outcome.workspaces) counts.zcard(keys.online(workspaceId));
  const results = (await counts.exec()) ?? [];
  outcome.workspaces.forEach((workspaceId, index) => {
    const [error, count] = results[index] ?? [new Error("no reply"), 0];
    if (error === null) onlineUsers.set(workspaceId, Number(count));
  });
}

/** The batch's workspace and viewer diffs and user updates: Redis only, so a database outage cannot hold them back. */
async function publish(
  redis: Redis,
  prefix: string,
  outcome: PresenceOutcome,
  position: { readonly partition: number; readonly offset: number },
): Promise<void> {
  const messages: [channel: string, message: string][] = [];
  for (const [workspaceId, { joins, leaves }] of outcome.diffs) {
    const delta: PresenceDiffDelta = { workspaceId, ...position, joins, leaves };
    messages.push([presenceDiffChannel(prefix, workspaceId), JSON.stringify(delta)]);
  }
  for (const { workspaceId, topic, joins, leaves } of outcome.viewerDiffs.values()) {
    const delta: ViewerDiffDelta = { workspaceId, topic, ...position, joins, leaves };
    messages.push([viewerDiffChannel(prefix, workspaceId, topic), JSON.stringify(delta)]);
  }
  for (const update of outcome.updates) messages.push([userPresenceChannel(prefix, update.user_id), JSON.stringify(update)]);
  await publishAll(redis, messages);
}

/** `user_online` / `user_offline` to the conversations of each user whose visibility changed (their membership is in MySQL). */
async function announceVisibility(redis: Redis, prefix: string, outcome: PresenceOutcome, membership: MysqlMembershipStore): Promise<void> {
  const messages: [channel: string, message: string][] = [];
  for (const { userId, online, at } of outcome.visibility) {
    for (const conversationId of await membership.conversationsOf(userId)) {
      const delta: ConversationDelta = { kind: online ? "user_online" : "user_offline", conversationId, userId, at };
      messages.push([conversationDeltaChannel(prefix, conversationId), JSON.stringify(delta)]);
    }
  }
  await publishAll(redis, messages, "presence deltas");
}
