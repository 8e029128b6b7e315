import { eventOf } from "../../../../platform/contract/event-records.js";
import { DiffAccumulator } from "../../presence-diff.js";
import {
  compare,
  evolvePresence,
  isVisible,
  unknownUser,
  userPresenceOf,
  viewerChanges,
  viewerMetasOf,
  type PresenceRecord,
  type UserPresenceState,
} from "./presence-evolve.js";
import { presenceKeys, type PresenceEntries, type UserPresence } from "./presence-model.js";
import { userWrites, type RedisWrite } from "./presence-redis-plan.js";

/** The name of the presence projection: its consumer group and its checkpoints. */
export const PRESENCE_PROJECTION = "presence";

/** A user the workspace started or stopped seeing online over a batch. */
export interface VisibilityChange {
  readonly userId: string;
  readonly workspaceId: string;
  readonly online: boolean;
  /** Epoch milliseconds: `occurredAt` of the event that made the (last) change. */
  readonly at: number;
}

/** The effect of a batch of one partition, as the store commits it and the projection announces it. */
export interface PresenceOutcome {
  /** The state of every user the batch touched, after it. */
  readonly users: ReadonlyMap<string, UserPresenceState>;
  /** Everything to write to Redis (the checkpoint excepted). */
  readonly writes: readonly RedisWrite[];
  /** The merged presence_diff of each workspace whose view changed; none for a workspace whose joins and leaves cancel out. */
  readonly diffs: ReadonlyMap<string, { readonly joins: PresenceEntries; readonly leaves: PresenceEntries }>;
  /** The merged presence_diff of each topic whose viewers changed, by {@link viewedTopicId}. */
  readonly viewerDiffs: ReadonlyMap<string, ViewedTopic & { readonly joins: PresenceEntries; readonly leaves: PresenceEntries }>;
  /** Every topic a touched user viewed at the start or the end of the batch (while visible), in id order. */
  readonly viewedTopics: readonly ViewedTopic[];
  /** Users whose visibility differs between the start and the end of the batch. */
  readonly visibility: readonly VisibilityChange[];
  /** The new {@link UserPresence} of every touched user whose presence changed. */
  readonly updates: readonly UserPresence[];
  /** Every workspace a touched user was or is in. */
  readonly workspaces: readonly string[];
  /** The gateways of the connections the batch opened, in id order. */
  readonly gateways: readonly string[];
}

/** A topic whose viewers are shown, in the workspace that sees them. */
export interface ViewedTopic {
  readonly workspaceId: string;
  readonly topic: string;
}

/** One string per topic of a workspace (a map key). */
export const viewedTopicId = ({ workspaceId, topic }: ViewedTopic): string => `${workspaceId}\0${topic}`;

/**
 * Folds a batch of one partition into the touched users' states (pure): `users` holds the state
 * of every user the records are about (a missing one is {@link unknownUser}). Returns the final
 * states, the writes that take Redis from the given states to them, and what to announce.
 *
 * The diff of a workspace is merged over the batch as Phoenix.Presence merges diffs: a meta
 * that joined and left within the batch appears in neither, and a join then loses a
 * `phx_ref_prev` that names such a meta. The same records from the same states always give the
 * same outcome. The viewers of each topic are merged the same way.
 */
export function foldPresence(prefix: string, users: ReadonlyMap<string, UserPresenceState>, records: readonly PresenceRecord[]): PresenceOutcome {
  const initial = new Map<string, UserPresenceState>();
  const current = new Map<string, UserPresenceState>();
  const lastVisibilityChange = new Map<string, number>();
  const diffs = new Map<string, DiffAccumulator>();
  const diffOf = (workspaceId: string) => {
    let diff = diffs.get(workspaceId);
    if (diff === undefined) diffs.set(workspaceId, (diff = new DiffAccumulator()));
    return diff;
  };
  const viewerDiffs = new Map<string, { readonly topic: ViewedTopic; readonly diff: DiffAccumulator }>();
  const viewerDiffOf = (topic: ViewedTopic) => {
    let entry = viewerDiffs.get(viewedTopicId(topic));
    if (entry === undefined) viewerDiffs.set(viewedTopicId(topic), (entry = { topic, diff: new DiffAccumulator() }));
    return entry.diff;
  };

  for (const record of records) {
    const event = eventOf(record, "presence");
    if (event === undefined) continue;
    const { userId } = event.data;
    const before = current.get(userId) ?? users.get(userId) ?? unknownUser(userId);
    if (!initial.has(userId)) initial.set(userId, before);
    const after = evolvePresence(before, record);
    current.set(userId, after);
    if (after === before) continue;
    if (isVisible(before) !== isVisible(after)) lastVisibilityChange.set(userId, event.data.meta.occurredAt);
    for (const [connectionId, meta] of before.metas) {
      if (before.workspaceId !== null && !(before.workspaceId === after.workspaceId && after.metas.get(connectionId) === meta)) {
        diffOf(before.workspaceId).leave({ userId, meta });
      }
    }
    for (const [connectionId, meta] of after.metas) {
      if (after.workspaceId !== null && !(before.workspaceId === after.workspaceId && before.metas.get(connectionId) === meta)) {
        diffOf(after.workspaceId).join({ userId, meta });
      }
    }
    const viewers = viewerChanges(before, after);
    for (const { workspaceId, topic, meta } of viewers.left) viewerDiffOf({ workspaceId, topic }).leave({ userId, meta });
    for (const { workspaceId, topic, meta } of viewers.joined) viewerDiffOf({ workspaceId, topic }).join({ userId, meta });
  }

  const keys = presenceKeys(prefix);
  const writes: RedisWrite[] = [];
  const visibility: VisibilityChange[] = [];
  const updates: UserPresence[] = [];
  const workspaces = new Set<string>();
  const gateways = new Set<string>();
  const viewedTopics = new Map<string, ViewedTopic>();
  for (const [userId, before] of initial) {
    const after = current.get(userId)!;
    for (const connection of after.connections.values()) if (!before.connections.has(connection.connectionId)) gateways.add(connection.gatewayId);
    if (before.workspaceId !== null) workspaces.add(before.workspaceId);
    if (after.workspaceId !== null) workspaces.add(after.workspaceId);
    for (const state of [before, after]) {
      if (state.workspaceId === null) continue;
      for (const { topic } of viewerMetasOf(state)) viewedTopics.set(viewedTopicId({ workspaceId: state.workspaceId, topic }), { workspaceId: state.workspaceId, topic });
    }
    writes.push(...userWrites(keys, before, after));
    const at = lastVisibilityChange.get(userId);
    if (isVisible(before) !== isVisible(after) && at !== undefined) {
      visibility.push({ userId, workspaceId: (isVisible(after) ? after.workspaceId : before.workspaceId) ?? "", online: isVisible(after), at });
    }
    const presence = userPresenceOf(after);
    if (JSON.stringify(presence) !== JSON.stringify(userPresenceOf(before))) updates.push(presence);
  }

  const merged = new Map<string, { joins: PresenceEntries; leaves: PresenceEntries }>();
  for (const [workspaceId, diff] of diffs) {
    if (!diff.empty) merged.set(workspaceId, diff.take());
  }
  const mergedViewers = new Map<string, ViewedTopic & { joins: PresenceEntries; leaves: PresenceEntries }>();
  for (const [id, { topic, diff }] of viewerDiffs) {
    if (!diff.empty) mergedViewers.set(id, { ...topic, ...diff.take() });
  }
  return {
    users: current,
    writes,
    diffs: merged,
    viewerDiffs: mergedViewers,
    viewedTopics: [...viewedTopics].sort(([a], [b]) => compare(a, b)).map(([, topic]) => topic),
    visibility,
    updates,
    workspaces: [...workspaces],
    gateways: [...gateways].sort(compare),
  };
}

