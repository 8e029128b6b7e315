import type { ConsumerGlobalConfig } from "node-rdkafka";

/** Longest wait between two attempts to reach a lost broker, for every librdkafka client of the service. */
export const RECONNECT_BACKOFF_MAX_MS = 1_000;

/**
 * The librdkafka consumer settings every reader of this service shares: offsets are committed
 * (or checkpointed) by the code that handled the records, never automatically; only committed
 * transactions are read; a fetch waits at most 10 ms, and a consume call returns as soon as it
 * reaches a partition's end instead of waiting out its timeout, so a lone record is handled at
 * once; a lost broker is redialled at least every second (librdkafka's default backoff grows to
 * 10 s, which outlasts a broker restart and costs the group its session). `extra` adds or
 * overrides settings (session timeouts, assignment strategy, callbacks).
 */
export function consumerSettings(
  base: { readonly brokers: readonly string[]; readonly clientId: string; readonly groupId: string },
  extra: ConsumerGlobalConfig = {},
): ConsumerGlobalConfig {
  return {
    "metadata.broker.list": base.brokers.join(","),
    "client.id": base.clientId,
    "group.id": base.groupId,
    "enable.auto.commit": false,
    "isolation.level": "read_committed",
    "enable.partition.eof": true,
    "fetch.wait.max.ms": 10,
    "socket.keepalive.enable": true,
    "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
    ...extra,
  };
}
