import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import type { MongoRecordingsStore } from "./mongo-recordings-store.js";
import { RECORDINGS_PROJECTION } from "./recording-changes.js";

/**
 * Projects `quikapp.calls.events` into the recordings read model in MongoDB (after creating its
 * indexes). It pushes nothing: `recording_started` and `recording_stopped` reach sockets through
 * the live-calls projection; clients read recordings over REST.
 */
export async function startRecordingsProjection(deps: {
  config: CoreConfig;
  codec: AvroCodec;
  store: MongoRecordingsStore;
  logger: Logger;
  metrics?: ProjectionMetrics;
}): Promise<ProjectionRuntime> {
  const { config, codec, store } = deps;
  const prefix = config.kafka.topicPrefix;
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: RECORDINGS_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${RECORDINGS_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.calls.events],
      // A MongoDB client takes overlapping applies of different partitions.
      parallelPartitions: true,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    codec,
    deps.logger.child({ projection: RECORDINGS_PROJECTION }),
  );
  await runtime.start();
  return runtime;
}
