import type { HuddlesEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about one huddle: created, invited, participants joined and left (with a reason), media and hand toggled, ended. */
export type HuddleEvent = HuddlesEvent;

/** A huddle event as `decide` returns it (the runtime fills `meta`). */
export type DecidedHuddleEvent = DecidedEvent<HuddleEvent>;
