import type { ChannelsEvent } from "../../../platform/contract/generated/avro-types.js";
import type { DecidedEvent } from "../../../platform/domain/decider.js";

/** Facts about one channel: created, deleted, a user subscribed or unsubscribed, a publication, history dropped. */
export type ChannelEvent = ChannelsEvent;

/** A channel event as `decide` returns it (the runtime fills `meta`). */
export type DecidedChannelEvent = DecidedEvent<ChannelEvent>;
