import type { AvroCodec } from "../../infra/avro/avro-codec.js";
import type { Logger } from "../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../infra/metrics/service-metrics.js";
import type { CoreConfig } from "../config/core-config.js";
import { ProjectionRuntime, projectionOptions, type ProjectionSink } from "./projection-runtime.js";

/** What a role gives a projection that only writes its read model (it pushes nothing). */
export interface StoreProjectionDeps {
  readonly config: CoreConfig;
  readonly codec: AvroCodec;
  readonly logger: Logger;
  readonly metrics?: ProjectionMetrics;
}

/**
 * Starts the projection `name` of the event topic `topic` (without the topic prefix) into `store`,
 * after making its schema (collections, indexes). The store is over a client that takes
 * overlapping applies (a MongoDB client, a connection pool), so the partitions of a batch are
 * applied at the same time. Nothing is published: clients read such a read model over REST.
 */
export async function startStoreProjection(
  deps: StoreProjectionDeps,
  projection: { readonly name: string; readonly topic: string; readonly store: ProjectionSink & { ensureSchema(): Promise<void> } },
): Promise<ProjectionRuntime> {
  const { name, store } = projection;
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    { ...projectionOptions(deps.config.kafka, name, projection.topic, deps.metrics), parallelPartitions: true },
    store,
    deps.codec,
    deps.logger.child({ projection: name }),
  );
  await runtime.start();
  return runtime;
}
