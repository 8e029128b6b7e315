import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startStoreProjection, type StoreProjectionDeps } from "../../../../platform/projection/store-projection.js";
import { HUDDLE_HISTORY_PROJECTION } from "./huddle-history-changes.js";
import type { MongoHuddleHistoryStore } from "./mongo-huddle-history-store.js";

/**
 * Projects `quikapp.huddles.events` into the huddles' history in MongoDB (after creating its
 * indexes). It pushes nothing: the live-huddles projection pushes the huddles' changes; the
 * history is read over REST.
 */
export function startHuddleHistoryProjection(deps: StoreProjectionDeps & { readonly store: MongoHuddleHistoryStore }): Promise<ProjectionRuntime> {
  return startStoreProjection(deps, { name: HUDDLE_HISTORY_PROJECTION, topic: TOPICS.huddles.events, store: deps.store });
}
