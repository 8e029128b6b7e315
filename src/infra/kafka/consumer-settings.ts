import type { ConsumerGlobalConfig } from "node-rdkafka";

/** Longest wait between two attempts to reach a lost broker, for every librdkafka client of the service. */
export const RECONNECT_BACKOFF_MAX_MS = 1_000;

/**
 * The librdkafka consumer settings every reader of this service shares: offsets are committed
 * (or checkpointed) by the code that handled the records, never automatically; only committed
 * transactions are read; a fetch the broker cannot answer yet waits up to 500 ms (an idle reader
 * costs the broker two requests a second; a record arriving meanwhile answers it at once, and
 * `consume` hands it over without waiting for the partition's end); a lost broker is redialled
 * at least every second (librdkafka's default backoff grows to 10 s, which outlasts a broker
 * restart and costs the group its session); a member that stops heartbeating is dead after 10 s,
 * so a crashed process's partitions move within seconds rather than librdkafka's default 45 s.
 * `extra` adds or overrides settings (session timeouts, assignment strategy, callbacks).
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
    "fetch.wait.max.ms": 500,
    "socket.keepalive.enable": true,
    "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
    "session.timeout.ms": 10_000,
    "heartbeat.interval.ms": 3_000,
    ...extra,
  };
}

/**
 * For readers that read to a partition's end and must see that end soon (restores, rebuilds):
 * librdkafka signals the end only with an empty fetch answer, which the broker holds up to
 * `fetch.wait.max.ms`. Short-lived readers only: each idle fetch costs the broker a request.
 */
export const END_SEEN_SOON: ConsumerGlobalConfig = { "fetch.wait.max.ms": 10 };
