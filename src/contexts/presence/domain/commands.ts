import type { PresenceCommand as PresenceContextCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * Commands about one user's presence: a connection opened, closed or is still alive, the status
 * the user shows, and the expiry of connections that went stale or whose gateway died. The
 * aggregate is the user; `userId` is also the Kafka key.
 */
export type PresenceCommand = PresenceContextCommand;
