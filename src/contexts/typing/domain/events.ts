import type { TypingEvent as TypingContextEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about typing in one conversation: an indicator started (or was renewed), an indicator stopped. */
export type TypingEvent = TypingContextEvent;

/** A typing event as `decide` returns it (the runtime fills `meta`). */
export type DecidedTypingEvent = DecidedEvent<TypingEvent>;
