/**
 * The presence read model as Redis holds it, and the deltas the presence projection publishes.
 * The projection is the only writer of these keys (except `gateways`, see below);
 * gateways and REST read them. Every name starts with the Kafka topic prefix, so that runs and
 * tenants sharing a Redis never see each other's presence.
 *
 * Keys (`<p>` = topic prefix):
 * - `<p>presence:checkpoint` hash: `<topic>:<partition>` → next offset to apply. Written in the
 *   same MULTI/EXEC as the changes of the records below it.
 * - `<p>presence:user:<userId>` hash: `status` (the status the user chose: online, away, dnd,
 *   offline = appear offline), `status_text`, `display_name` and `avatar_url` (from the user service), `device_count` (open connections), `last_seen`
 *   (epoch ms of the last sign of life: set when the user went offline, and to the time of the
 *   latest connect), `online_at` (epoch ms of the first of the current connections, absent when
 *   offline), `workspace_id`.
 * - `<p>presence:conns:<userId>` hash: connectionId → JSON {@link PresenceConnection}.
 * - `<p>presence:online:<workspaceId>` sorted set: userId scored by `online_at`, for the users
 *   the workspace sees online (at least one connection, status not offline).
 * - `<p>presence:metas:<workspaceId>` hash: connectionId → JSON {@link WorkspaceMeta}, for
 *   the connections of the users the workspace sees online: the `presence_state` of the
 *   `presence:<workspaceId>` channel.
 * - `<p>presence:viewers:<workspaceId>:<topic as base64url>` hash: connectionId → JSON
 *   {@link WorkspaceMeta}, for the connections viewing the topic (`comments:{videoId}`) of the
 *   users the workspace sees online: the `presence_state` of the topic's viewers. Each meta is
 *   the connection's workspace meta with the ref `<workspace meta ref>/<TopicJoined ref>` (and no
 *   `phx_ref_prev`), so a status change replaces it too.
 * - `<p>presence:gateway:<gatewayId>` hash: connectionId → JSON {@link GatewayConnection}: the
 *   open connections each gateway holds, for the sweeper.
 * - `<p>presence:gateways` sorted set: gatewayId scored by its latest liveness beat (epoch ms),
 *   written by the gateways themselves; the projection adds a gateway it gives a connection and
 *   finds missing (Redis lost the set), scored by the time of that write, so that the sweeper
 *   looks at it again.
 */

/** One presence entry of a connection, in Phoenix.Presence form (a "meta"). */
export interface PresenceMeta {
  /** Unique per version of this meta: a status change replaces it (leave + join with `phx_ref_prev`). */
  readonly phx_ref: string;
  readonly phx_ref_prev?: string;
  readonly connection_id: string;
  /** The registered device behind the connection, when the client named one. */
  readonly device: string | null;
  readonly platform: string;
  readonly status: string;
  readonly status_text: string | null;
  /** The user's display name and avatar, as the user service last gave them (absent until it does). */
  readonly display_name?: string;
  readonly avatar_url?: string;
  /** Epoch milliseconds when the connection opened. */
  readonly online_at: number;
}

/** Phoenix.Presence's wire shape: user id → that user's metas, one per connection. */
export type PresenceEntries = Record<string, { readonly metas: readonly PresenceMeta[] }>;

/** A value of `presence:metas:<workspaceId>`. */
export interface WorkspaceMeta {
  readonly userId: string;
  readonly meta: PresenceMeta;
}

/** A value of `presence:conns:<userId>`. */
export interface PresenceConnection {
  readonly connectionId: string;
  readonly gatewayId: string;
  readonly deviceId: string | null;
  readonly platform: string;
  /** Epoch milliseconds. */
  readonly onlineAt: number;
  /** Epoch milliseconds of the staleness deadline. */
  readonly expiresAt: number;
  /** The `phx_ref` of the connection's current meta. */
  readonly phxRef: string;
  /** The topics the connection views, each with the ref of its `TopicJoined`; absent when none. */
  readonly topics?: Readonly<Record<string, string>>;
}

/** A value of `presence:gateway:<gatewayId>`. */
export interface GatewayConnection {
  readonly userId: string;
  readonly workspaceId: string;
}

/**
 * Published on {@link presenceDiffChannel} after a batch of one partition committed: the
 * presence_diff of the workspace that batch caused. `partition`/`offset` (the last record
 * applied) let a reader tell a delta from a snapshot it already includes.
 */
export interface PresenceDiffDelta {
  readonly workspaceId: string;
  readonly partition: number;
  readonly offset: number;
  readonly joins: PresenceEntries;
  readonly leaves: PresenceEntries;
  /** The projection caught up without publishing diffs (restart, rebuild): read the workspace's state afresh. */
  readonly resync?: boolean;
}

/** Published on {@link viewerDiffChannel}: the presence_diff of one topic's viewers that a batch caused. */
export interface ViewerDiffDelta extends PresenceDiffDelta {
  readonly topic: string;
}

/** What a user's own `user:<userId>` channel receives as `presence_update`, and `GET /api/presence/:user_id` answers. */
export interface UserPresence {
  readonly user_id: string;
  /** The workspace the user was last seen in (from the `workspace_id` field of its hash); null when never seen. Readers outside it must not be told anything. */
  readonly workspace_id: string | null;
  /** What others see: online, away, dnd, or offline (no connection, or appearing offline). */
  readonly status: string;
  /** The status the user chose, shown to the user's own devices. */
  readonly chosen_status: string;
  readonly status_text: string | null;
  readonly device_count: number;
  /** Epoch milliseconds, null when never seen. */
  readonly last_seen: number | null;
  /** Epoch milliseconds, null when offline. */
  readonly online_at: number | null;
  readonly devices: readonly { readonly connection_id: string; readonly device: string | null; readonly platform: string; readonly online_at: number }[];
}

export const presenceKeys = (prefix: string) => ({
  checkpoint: `${prefix}presence:checkpoint`,
  user: (userId: string) => `${prefix}presence:user:${userId}`,
  connections: (userId: string) => `${prefix}presence:conns:${userId}`,
  online: (workspaceId: string) => `${prefix}presence:online:${workspaceId}`,
  metas: (workspaceId: string) => `${prefix}presence:metas:${workspaceId}`,
  viewers: (workspaceId: string, topic: string) => `${prefix}presence:viewers:${workspaceId}:${topicKey(topic)}`,
  gateway: (gatewayId: string) => `${prefix}presence:gateway:${gatewayId}`,
  gateways: `${prefix}presence:gateways`,
});

/** Redis pub/sub channel of a workspace's {@link PresenceDiffDelta}s. */
export const presenceDiffChannel = (prefix: string, workspaceId: string): string => `${prefix}presence:diffs:${workspaceId}`;

/** Redis pub/sub channel of the {@link ViewerDiffDelta}s of a topic's viewers in a workspace. */
export const viewerDiffChannel = (prefix: string, workspaceId: string, topic: string): string => `${prefix}presence:viewer-diffs:${workspaceId}:${topicKey(topic)}`;

/** A topic as it appears in key and channel names: base64url, so that no character of it can end the name early or match a pattern. */
const topicKey = (topic: string): string => Buffer.from(topic, "utf8").toString("base64url");

/** Redis pub/sub channel of a user's {@link UserPresence} after each change. */
export const userPresenceChannel = (prefix: string, userId: string): string => `${prefix}presence:updates:${userId}`;
