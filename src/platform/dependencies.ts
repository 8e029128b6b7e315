/** The servers a process may talk to, by their names in `/health` `dependencies`, in that order. */
export const DEPENDENCIES = ["kafka", "schema_registry", "redis", "mysql", "mongo"] as const;

export type Dependency = (typeof DEPENDENCIES)[number];

/**
 * What every process uses whatever its contexts: Kafka and the schema registry (commands and
 * events), Redis (command replies, rate limits, pub/sub). The stores (MySQL, MongoDB) are used
 * only when a context declares them.
 */
export const PLATFORM_DEPENDENCIES: readonly Dependency[] = ["kafka", "schema_registry", "redis"];
