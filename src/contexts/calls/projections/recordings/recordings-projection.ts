import { TOPICS } from "../../../../platform/contract/topics.js";
import type { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { startStoreProjection, type StoreProjectionDeps } from "../../../../platform/projection/store-projection.js";
import type { MongoRecordingsStore } from "./mongo-recordings-store.js";
import { RECORDINGS_PROJECTION } from "./recording-changes.js";

/**
 * Projects `quikapp.calls.events` into the recordings read model in MongoDB (after creating its
 * indexes). It pushes nothing: `recording_started` and `recording_stopped` reach sockets through
 * the live-calls projection; clients read recordings over REST.
 */
export function startRecordingsProjection(deps: StoreProjectionDeps & { readonly store: MongoRecordingsStore }): Promise<ProjectionRuntime> {
  return startStoreProjection(deps, { name: RECORDINGS_PROJECTION, topic: TOPICS.calls.events, store: deps.store });
}
