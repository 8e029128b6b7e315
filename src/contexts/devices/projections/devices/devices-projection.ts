import type { AvroCodec } from "../../../../infra/avro/avro-codec.js";
import type { Logger } from "../../../../infra/log/logger.js";
import type { ProjectionMetrics } from "../../../../infra/metrics/service-metrics.js";
import type { CoreConfig } from "../../../../platform/config/core-config.js";
import { TOPICS } from "../../../../platform/contract/topics.js";
import { ProjectionRuntime } from "../../../../platform/projection/projection-runtime.js";
import { DEVICES_PROJECTION, type MongoDevicesStore } from "./mongo-devices-store.js";

/**
 * Projects `quikapp.devices.events` into the devices read model in MongoDB (after creating its
 * indexes). It pushes nothing: the notifier and the REST API read it.
 */
export async function startDevicesProjection(deps: { config: CoreConfig; codec: AvroCodec; store: MongoDevicesStore; logger: Logger; metrics?: ProjectionMetrics }): Promise<ProjectionRuntime> {
  const { config, codec, store } = deps;
  const prefix = config.kafka.topicPrefix;
  await store.ensureSchema();
  const runtime = new ProjectionRuntime(
    {
      name: DEVICES_PROJECTION,
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${DEVICES_PROJECTION}`,
      groupPrefix: prefix,
      topics: [prefix + TOPICS.devices.events],
      // A MongoDB client takes overlapping applies of different partitions.
      parallelPartitions: true,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
    store,
    codec,
    deps.logger.child({ projection: DEVICES_PROJECTION }),
  );
  await runtime.start();
  return runtime;
}
