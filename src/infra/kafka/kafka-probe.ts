import type { Kafka } from "kafkajs";
import type { DependencyProbe } from "../../platform/gateway/dependency-health.js";

/**
 * Asks the cluster for its brokers through a short-lived admin connection, so a broker that
 * went away is reported at once instead of after a client's reconnect backoff.
 * `kafka` should be built with no retries.
 */
export function kafkaProbe(kafka: Kafka): DependencyProbe {
  return {
    name: "kafka",
    async check() {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        if (brokers.length === 0) throw new Error("the cluster reports no brokers");
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
