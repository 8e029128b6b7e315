import type { SessionsCommand } from "../../../platform/contract/generated/avro-types.js";

/**
 * What the service is asked to do to a user's live connections: disconnect them everywhere
 * (revoking the user's tokens when asked), or move when their authentication ends. The
 * aggregate is the user; `userId` is also the Kafka key.
 */
export type SessionCommand = SessionsCommand;
