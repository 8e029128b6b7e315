import type { PresenceEvent as PresenceContextEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about one user's presence: connections opened, refreshed and closed; online, offline; status changed. */
export type PresenceEvent = PresenceContextEvent;

/** A presence event as `decide` returns it (the runtime fills `meta`). */
export type DecidedPresenceEvent = DecidedEvent<PresenceEvent>;
