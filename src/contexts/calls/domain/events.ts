import type { CallsEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about one call: started, answered, rejected, ended, participants joined, left and invited, recording started and stopped. */
export type CallEvent = CallsEvent;

/** A call event as `decide` returns it (the runtime fills `meta`). */
export type DecidedCallEvent = DecidedEvent<CallEvent>;
