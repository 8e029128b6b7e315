import type { SessionsEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about a user's connections: disconnected everywhere (and from when its tokens are refused), authentication moved. */
export type SessionEvent = SessionsEvent;

/** A session event as `decide` returns it (the runtime fills `meta`). */
export type DecidedSessionEvent = DecidedEvent<SessionEvent>;
